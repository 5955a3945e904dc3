namespace Dataflow.Storage.Tests.S3;

/// <summary>The store contract, unchanged, against the real S3 server: one shared bucket, a prefix per test.</summary>
public sealed class S3StoreContractTests : ObjectStoreContractTests
{
    private const string Bucket = "dataflow-contract";

    protected override bool DeleteCountsOnlyExisting => false;

    protected override async Task<IObjectStore> CreateStoreAsync() =>
        await ObjectStore.OpenAsync($"s3://{Bucket}", new ObjectStoreOptions { S3 = S3TestServer.Options() });
}
