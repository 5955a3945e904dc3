using Amazon.S3;
using Amazon.S3.Transfer;

namespace Dataflow.Benchmarks.S3;

/// <summary>
/// What an S3 benchmark needs: the server, a bucket of its own, Dataflow's store and TransferUtility on it, and a
/// local folder (on disk, for the upload source). <see cref="DisposeAsync"/> deletes the bucket and the folder.
/// </summary>
internal sealed class S3BenchFixture : IAsyncDisposable
{
    private S3BenchFixture(S3BenchServer server, S3ObjectStore store, AmazonS3Client client, string folder)
    {
        Server = server;
        Store = store;
        Client = client;
        Transfer = S3BenchServer.CreateTransferUtility(client);
        Folder = folder;
    }

    public S3BenchServer Server { get; }

    public S3ObjectStore Store { get; }

    public string Bucket => Store.Bucket;

    public AmazonS3Client Client { get; }

    public TransferUtility Transfer { get; }

    /// <summary>A new folder under the system's temporary folder.</summary>
    public string Folder { get; }

    /// <summary>Creates a bucket named after <paramref name="purpose"/> and a temporary folder.</summary>
    public static async Task<S3BenchFixture> CreateAsync(string purpose)
    {
        var server = S3BenchServer.FromEnvironment();
        var store = await server.OpenStoreAsync(S3BenchServer.NewBucket(purpose)).ConfigureAwait(false);
        var folder = Directory.CreateTempSubdirectory("dataflow-s3-bench-").FullName;
        return new S3BenchFixture(server, store, server.CreateSdkClient(), folder);
    }

    /// <summary>Opens the existing <paramref name="bucket"/> (made by a parent process) without a folder of its own.</summary>
    public static async Task<S3BenchFixture> OpenAsync(string bucket)
    {
        var server = S3BenchServer.FromEnvironment();
        var store = await server.OpenStoreAsync(bucket).ConfigureAwait(false);
        return new S3BenchFixture(server, store, server.CreateSdkClient(), folder: string.Empty);
    }

    /// <summary>Closes the clients; does not delete anything.</summary>
    public async ValueTask CloseAsync()
    {
        Transfer.Dispose();
        Client.Dispose();
        await Store.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Deletes the bucket and the folder, then closes the clients.</summary>
    public async ValueTask DisposeAsync()
    {
        await S3BenchServer.DeleteBucketAsync(Store).ConfigureAwait(false);
        if (Folder.Length > 0 && Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }

        await CloseAsync().ConfigureAwait(false);
    }
}
