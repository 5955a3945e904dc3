namespace Dataflow.Storage.Tests.S3;

/// <summary>Addresses, profile defaults and option checks (no server needed: nothing here sends a request).</summary>
public sealed class S3AddressTests
{
    [Theory]
    [InlineData("s3://bucket", "s3", "bucket", "")]
    [InlineData("s3://bucket/", "s3", "bucket", "")]
    [InlineData("s3://my-bucket.v2/data", "s3", "my-bucket.v2", "data/")]
    [InlineData("s3://abc/a/b/c/", "s3", "abc", "a/b/c/")]
    [InlineData("S3://bucket/x", "s3", "bucket", "x/")]
    [InlineData("oss://bucket-1/runs/2024", "oss", "bucket-1", "runs/2024/")]
    [InlineData("s3://0bucket9/_dataflow", "s3", "0bucket9", "_dataflow/")]
    [InlineData("s3://a23456789012345678901234567890123456789012345678901234567890123", "s3", "a23456789012345678901234567890123456789012345678901234567890123", "")]
    public void Parse_ValidAddress_GivesSchemeBucketAndPrefixEndingInSlash(string location, string scheme, string bucket, string prefix)
    {
        var address = S3Address.Parse(location);

        Assert.Equal(new S3Address(scheme, bucket, prefix), address);
        Assert.Equal($"{scheme}://{bucket}/{prefix}", address.ToString());
    }

    [Theory]
    [InlineData("http://bucket/x", "not an s3:// or oss:// address")]
    [InlineData("bucket/x", "not an s3:// or oss:// address")]
    [InlineData("gs://bucket", "not an s3:// or oss:// address")]
    [InlineData("s3://", "not a valid bucket name")]
    [InlineData("s3:///x", "not a valid bucket name")]
    [InlineData("s3://ab", "not a valid bucket name")]
    [InlineData("s3://a234567890123456789012345678901234567890123456789012345678901234", "not a valid bucket name")]
    [InlineData("s3://Bucket", "not a valid bucket name")]
    [InlineData("s3://my_bucket", "not a valid bucket name")]
    [InlineData("s3://-bucket", "not a valid bucket name")]
    [InlineData("s3://bucket-", "not a valid bucket name")]
    [InlineData("s3://bucket.", "not a valid bucket name")]
    [InlineData("s3://a..b", "not a valid bucket name")]
    [InlineData("oss://buc ket", "not a valid bucket name")]
    [InlineData("s3://bucket/a//b", "the prefix is not valid")]
    [InlineData("s3://bucket//a", "the prefix is not valid")]
    [InlineData("s3://bucket/../up", "the prefix is not valid")]
    [InlineData("s3://bucket/a/./b", "the prefix is not valid")]
    [InlineData("s3://bucket/a\\b", "the prefix is not valid")]
    public void Parse_InvalidAddress_ThrowsArgumentExceptionSayingWhy(string location, string why)
    {
        var ex = Assert.Throws<ArgumentException>(() => S3Address.Parse(location));

        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
        Assert.Contains(location, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PrefixOverTheKeyLimit_Throws() =>
        Assert.Throws<ArgumentException>(() => S3Address.Parse("s3://bucket/" + new string('p', 1030)));

    [Theory]
    [InlineData("oss://bucket/p", false, S3Compatibility.Oss)]
    [InlineData("s3://bucket/p", true, S3Compatibility.Generic)]
    [InlineData("s3://bucket/p", false, S3Compatibility.Aws)]
    public async Task Open_NoProfileGiven_PicksItFromSchemeAndEndpoint(string location, bool endpoint, S3Compatibility expected)
    {
        var store = (S3ObjectStore)ObjectStore.Open(location, new ObjectStoreOptions
        {
            S3 = new S3StoreOptions { Endpoint = endpoint ? new Uri("http://127.0.0.1:1") : null, AccessKey = "a", SecretKey = "s", UseEnvironment = false },
        });
        await using var _ = store;

        Assert.Equal(S3ProfileSettings.For(expected), store.Profile);
    }

    [Fact]
    public void ProfileSettings_Oss_IsVirtualHostedAndCannotListUploads()
    {
        var oss = S3ProfileSettings.For(S3Compatibility.Oss);
        Assert.False(oss.ForcePathStyle);
        Assert.False(oss.CanListMultipartUploads);
        Assert.True(oss.ContentMd5OnDelete);
        Assert.False(oss.UseChunkEncoding);

        var generic = S3ProfileSettings.For(S3Compatibility.Generic);
        Assert.True(generic.ForcePathStyle);
        Assert.True(generic.CanListMultipartUploads);
        Assert.True(generic.ContentMd5OnDelete);
        Assert.False(generic.UseChunkEncoding);
    }

    [Fact]
    public void OpenS3_CaBundleThatDoesNotExist_ThrowsArgumentExceptionNamingIt()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-ca-{Guid.NewGuid():N}.pem");

        var ex = Assert.Throws<ArgumentException>(() => ObjectStore.OpenS3("s3://bucket/", new S3StoreOptions
        {
            Endpoint = new Uri("https://127.0.0.1:1"),
            AccessKey = "a",
            SecretKey = "s",
            UseEnvironment = false,
            CaBundlePath = missing,
        }));

        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OpenS3_NoCredentialsAndNoEnvironment_ThrowsArgumentException()
    {
        var ex = Assert.Throws<ArgumentException>(() => ObjectStore.OpenS3("s3://bucket/", new S3StoreOptions { Endpoint = new Uri("http://127.0.0.1:1"), UseEnvironment = false }));

        Assert.Contains("no credentials", ex.Message, StringComparison.Ordinal);
    }
}
