using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Hosting;

/// <summary>The options that say which store a command works on and how it talks to S3.</summary>
internal sealed class StoreOptions
{
    /// <summary>The part size of S3 uploads when a command has no <c>--s3-part-size</c>.</summary>
    public const long DefaultPartSize = 16L << 20;

    /// <summary><c>--store</c>: the store's location.</summary>
    public AppOption<string?> Store { get; } = new("--store", "The object store: a folder path, file:// URI, s3://bucket/prefix or oss://bucket/prefix (endpoint, region and credentials from the AWS_* variables; the bucket is created if missing). Default: a new folder under the system's temporary folder, printed at the start.", null, "FOLDER|URI", null, null);

    /// <summary><c>--s3-profile</c>: what the S3 service accepts.</summary>
    public AppOption<S3Compatibility?> S3Profile { get; } = new("--s3-profile", "For s3:// and oss:// stores, what the service accepts: generic (any S3-compatible server; the default with an endpoint), aws, minio or oss (the default for oss://).", null, "generic|aws|minio|oss", text => OptionParsing.ParseEnum<S3Compatibility>(text), null);

    /// <summary><c>--s3-part-size</c>: the size of multipart upload parts.</summary>
    public AppOption<long> S3PartSize { get; } = new("--s3-part-size", "For S3 stores, the size of multipart upload parts (objects up to it go in one PUT), 5MiB to 1GiB.", DefaultPartSize, "SIZE", ByteSize.Parse, v => v is >= 5L << 20 and <= 1L << 30 ? null : "must be between 5MiB and 1GiB");

    /// <summary><c>--fsync</c>: folder stores flush every object and its name to the disk before it counts as written.</summary>
    public AppOption<bool> Fsync { get; } = new("--fsync", "For folder stores, flush every object, commit record and published output (and the folder naming it) to the disk before it counts as written, so that what a run committed survives a power cut or an operating system crash; slower (a disk flush per object). Without it, a process crash loses nothing committed; a power cut can lose the last seconds of writes (see the README).", false, null, null, null);

    /// <summary>The folder store's options from the command line: <c>--fsync</c>, where the command has it.</summary>
    public LocalFolderStoreOptions FolderOptions(RunContext context) => new() { FlushToDisk = context.Has(Fsync) && context.Get(Fsync) };

    /// <summary>The four, in the order of <c>--help</c>.</summary>
    public AppOption[] All => [Store, S3Profile, S3PartSize, Fsync];

    /// <summary>How a store is opened with the S3 and folder options' values.</summary>
    /// <param name="profile">What the S3 service accepts; default from the location.</param>
    /// <param name="partSize">The part size of multipart uploads.</param>
    /// <param name="folder">The folder store's options (<see cref="FolderOptions"/>).</param>
    /// <param name="logger">Where an S3 store logs the requests it retries (at Debug).</param>
    public static ObjectStoreOptions ToObjectStoreOptions(S3Compatibility? profile, long partSize, LocalFolderStoreOptions folder, Microsoft.Extensions.Logging.ILogger? logger = null) => new()
    {
        S3 = new S3StoreOptions { Profile = profile, PartSize = partSize, CreateBucketIfMissing = true, Logger = logger },
        Local = folder,
    };
}
