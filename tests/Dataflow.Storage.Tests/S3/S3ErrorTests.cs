using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;

namespace Dataflow.Storage.Tests.S3;

/// <summary>Errors against the real server: denied credentials, missing buckets, overlong keys, transient faults and retries.</summary>
public sealed class S3ErrorTests(S3Bucket bucket) : IClassFixture<S3Bucket>
{
    private const string WrongSecret = "not-the-secret-7c1e9a";

    [Fact]
    public async Task OpenAsync_WrongSecret_ThrowsAccessDeniedNamingTheStoreWithoutCredentials()
    {
        var recorder = new S3Recorder();
        var options = new S3Setup { SecretKey = WrongSecret, Recorder = recorder }.ToOptions();

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(async () =>
            await ObjectStore.OpenAsync($"s3://{bucket.Name}/denied/", new ObjectStoreOptions { S3 = options }));

        Assert.Contains("access denied", ex.Message, StringComparison.Ordinal);
        Assert.Contains("check the credentials", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"s3://{bucket.Name}/denied/", ex.Message, StringComparison.Ordinal);
        AssertNoCredentials(ex);

        // A 403 is not transient: one request, no retries.
        Assert.Single(recorder.Calls);
        Assert.Equal(HttpStatusCode.Forbidden, recorder.Calls[0].Status);
    }

    [Fact]
    public async Task Put_WrongSecret_ThrowsAccessDeniedNamingTheKeyWithoutCredentials()
    {
        var recorder = new S3Recorder();
        var store = bucket.Open(new S3Setup { SecretKey = WrongSecret, Recorder = recorder }, "denied/");
        await using var _ = store;

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(async () => await store.PutAsync("secret.bin", new byte[] { 1, 2, 3 }));

        Assert.Equal("secret.bin", ex.Key);
        Assert.Contains("access denied", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'secret.bin' (store s3://{bucket.Name}/denied/)", ex.Message, StringComparison.Ordinal);
        AssertNoCredentials(ex);
        Assert.Single(recorder.Calls);
    }

    [Fact]
    public async Task OpenAsync_MissingBucketWithoutCreate_ThrowsNamingTheBucketAndCreatesNothing()
    {
        var missing = S3TestServer.NewBucket("dataflow-s3t-missing");
        var options = new ObjectStoreOptions { S3 = new S3Setup().ToOptions() };

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(async () => await ObjectStore.OpenAsync($"s3://{missing}/", options));
        Assert.Contains($"the bucket '{missing}' does not exist", ex.Message, StringComparison.Ordinal);

        // Opened without the check, the first write says the same.
        var store = ObjectStore.Open($"s3://{missing}/", options);
        await using (store)
        {
            var put = await Assert.ThrowsAsync<ObjectStoreException>(async () => await store.PutAsync("x.bin", new byte[] { 1 }));
            Assert.Contains($"the bucket '{missing}' does not exist", put.Message, StringComparison.Ordinal);
            Assert.Equal("x.bin", put.Key);
        }

        await Assert.ThrowsAsync<ObjectStoreException>(async () => await ObjectStore.OpenAsync($"s3://{missing}/", options));
    }

    [Fact]
    public async Task OpenAsync_MissingBucketWithCreate_CreatesIt()
    {
        var created = S3TestServer.NewBucket("dataflow-s3t-created");
        var store = (S3ObjectStore)await ObjectStore.OpenAsync($"s3://{created}/", new ObjectStoreOptions { S3 = new S3Setup { CreateBucketIfMissing = true }.ToOptions() });
        await using (store)
        {
            await store.PutAsync("x.bin", new byte[] { 42 });
            Assert.Equal(new byte[] { 42 }, await store.ReadAllBytesAsync("x.bin"));
            await store.DeleteAsync(["x.bin"]);
            await store.Client.DeleteBucketAsync(created);
        }
    }

    [Fact]
    public async Task Keys_LongerThan1024BytesWithTheStorePrefix_ThrowInvalidObjectKeyBeforeAnyRequest()
    {
        var recorder = new S3Recorder();
        var prefix = S3Bucket.NewPrefix(new string('p', 80)); // 90 bytes with the suffix and '/'
        var store = bucket.Open(new S3Setup { Recorder = recorder }, prefix);
        await using var _ = store;
        var longest = "k/" + new string('x', ObjectKey.MaxUtf8Bytes - prefix.Length - 2);
        var tooLong = longest + "y";
        var tooLongInUtf8 = "k/" + new string('é', (ObjectKey.MaxUtf8Bytes - prefix.Length) / 2); // under 1,024 characters, over 1,024 bytes

        foreach (var key in new[] { tooLong, tooLongInUtf8 })
        {
            Assert.Throws<InvalidObjectKeyException>(() => store.GetUri(key));
            await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await store.OpenWriteAsync(key));
            await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await store.HeadAsync(key));
            await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await store.OpenReadAsync(key));
            await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await store.ComposeAsync(key, []));
            await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await store.MoveAsync("k/a", key));
        }

        Assert.Empty(recorder.Calls);

        // Exactly at the limit is allowed, and the server takes it.
        Assert.Equal(ObjectKey.MaxUtf8Bytes, System.Text.Encoding.UTF8.GetByteCount(store.Full(longest)));
        await store.PutAsync(longest, new byte[] { 7 });
        Assert.Equal(1, (await store.HeadAsync(longest))!.Size);
        await store.DeleteAsync([longest]);
    }

    [Fact]
    public async Task Operations_TwoSlowDownsForEveryRequest_SucceedOnTheThirdAttempt()
    {
        var recorder = new S3Recorder();
        var attempts = new ConcurrentDictionary<string, int>();
        // A request is its method, address and body (the journal's DeleteObjects and the test's share an address, and
        // may have bodies of the same length): the body by the digest the signature covers.
        recorder.Fault = call => attempts.AddOrUpdate($"{call.Method} {call.Uri} {call.Header("X-Amz-Content-SHA256")}", 1, (_, n) => n + 1) <= 2
            ? S3Recorder.Error(HttpStatusCode.ServiceUnavailable, "SlowDown")
            : null;
        var store = bucket.Open(new S3Setup { Recorder = recorder }, S3Bucket.NewPrefix("slow-down"));
        await using var _ = store;
        var small = S3Test.Bytes(1_000, seed: 61);
        var large = S3Test.Bytes((6 << 20) + 1, seed: 62);

        await store.PutAsync("small.bin", small);
        await store.PutAsync("large.bin", large);
        Assert.Equal(small.Length, (await store.HeadAsync("small.bin"))!.Size);
        Assert.Equal(small, await store.ReadAllBytesAsync("small.bin"));
        Assert.Equal(large, await store.ReadAllBytesAsync("large.bin"));
        Assert.Equal(["large.bin", "small.bin"], (await store.ListAllAsync("")).Select(i => i.Key));
        Assert.Equal(2, await store.DeleteAsync(["small.bin", "large.bin"]));

        // Every distinct request was answered SlowDown twice, then went through.
        var operations = recorder.Calls.Select(c => c.Operation).Distinct().Order().ToList();
        Assert.Equal(
            ["CompleteMultipartUpload", "CreateMultipartUpload", "DeleteObjects", "GetObject", "HeadObject", "ListObjectsV2", "PutObject", "UploadPart"],
            operations);
        Assert.All(attempts, a => Assert.Equal(3, a.Value));
        Assert.Equal(2 * attempts.Count, recorder.Calls.Count(c => c.Injected));

        // Each SlowDown was retried once, and counted.
        Assert.Equal(recorder.Calls.Count(c => c.Injected), store.RetriedRequests);
        Assert.All(recorder.Calls.Where(c => !c.Injected), c => Assert.True(c.Status is HttpStatusCode.OK or HttpStatusCode.PartialContent or HttpStatusCode.NoContent, c.ToString()));
    }

    [Fact]
    public async Task Retries_AreCountedAndLoggedAtDebugWithWhatFailed()
    {
        var recorder = new S3Recorder();
        var faults = 0;
        recorder.Fault = call => call.Operation == "PutObject" && Interlocked.Increment(ref faults) <= 2
            ? S3Recorder.Error(HttpStatusCode.InternalServerError, "InternalError")
            : null;
        var log = new ListLogger(LogLevel.Debug);
        var store = bucket.Open(new S3Setup { Recorder = recorder, Logger = log }, S3Bucket.NewPrefix("logged"));
        await using var _ = store;

        await store.PutAsync("retried.bin", S3Test.Bytes(100, seed: 71));
        await store.PutAsync("clean.bin", S3Test.Bytes(100, seed: 72));

        Assert.Equal(2, store.RetriedRequests);
        Assert.Equal(2, log.Messages.Count);
        Assert.All(log.Messages, m => Assert.Equal(LogLevel.Debug, m.Level));
        Assert.Contains("S3 request to write the object 'retried.bin'", log.Messages[0].Text, StringComparison.Ordinal);
        Assert.Contains("attempt 1 of 4", log.Messages[0].Text, StringComparison.Ordinal);
        Assert.Contains("attempt 2 of 4", log.Messages[1].Text, StringComparison.Ordinal);
        Assert.All(log.Messages, m => Assert.Contains("500 InternalError", m.Text, StringComparison.Ordinal));
        Assert.All(log.Messages, m => Assert.DoesNotContain(S3TestServer.SecretKey, m.Text, StringComparison.Ordinal));

        // Not logged above Debug: at Information the same retries leave no line.
        var quiet = new ListLogger(LogLevel.Information);
        faults = 0;
        var quietStore = bucket.Open(new S3Setup { Recorder = recorder, Logger = quiet }, S3Bucket.NewPrefix("quiet"));
        await using var __ = quietStore;
        await quietStore.PutAsync("retried.bin", S3Test.Bytes(100, seed: 73));
        Assert.Equal(2, quietStore.RetriedRequests);
        Assert.Empty(quiet.Messages);
    }

    /// <summary>Keeps what is logged at <paramref name="minimum"/> and above.</summary>
    private sealed class ListLogger(LogLevel minimum) : ILogger
    {
        public List<(LogLevel Level, string Text)> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                lock (Messages)
                {
                    Messages.Add((logLevel, formatter(state, exception)));
                }
            }
        }
    }

    [Fact]
    public async Task OpenAsync_TransientErrorsOnTheBucketCheck_RetriesThem()
    {
        var recorder = new S3Recorder();
        var faults = 0;
        recorder.Fault = call => call.Operation == "GetBucketLocation" && Interlocked.Increment(ref faults) <= 2
            ? S3Recorder.Error(HttpStatusCode.ServiceUnavailable, "SlowDown")
            : null;

        var store = await ObjectStore.OpenAsync($"s3://{bucket.Name}/", new ObjectStoreOptions { S3 = new S3Setup { Recorder = recorder }.ToOptions() });
        await store.DisposeAsync();

        Assert.Equal(3, recorder.Count("GetBucketLocation"));
    }

    [Fact]
    public async Task Delete_KeyLongerThan1024BytesWithTheStorePrefix_ThrowsInvalidObjectKey()
    {
        var recorder = new S3Recorder();
        var prefix = S3Bucket.NewPrefix(new string('p', 80));
        var store = bucket.Open(new S3Setup { Recorder = recorder }, prefix);
        await using var _ = store;

        // Regression: DeleteAsync checked keys without the store's prefix, so such a key went to the server, which
        // deleted nothing and said nothing, and the key was counted as deleted.
        await Assert.ThrowsAsync<InvalidObjectKeyException>(async () => await store.DeleteAsync(["k/" + new string('x', ObjectKey.MaxUtf8Bytes - prefix.Length)]));
        Assert.Empty(recorder.Calls);
    }

    [Fact]
    public async Task Put_Forbidden_IsNotRetried()
    {
        var recorder = new S3Recorder { Fault = _ => S3Recorder.Error(HttpStatusCode.Forbidden, "AccessDenied") };
        var store = bucket.Open(new S3Setup { Recorder = recorder }, S3Bucket.NewPrefix("forbidden"));
        await using var _ = store;

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(async () => await store.PutAsync("no.bin", new byte[] { 1 }));

        Assert.Contains("access denied", ex.Message, StringComparison.Ordinal);
        Assert.Single(recorder.Calls);
    }

    // Neither the secret nor the access key appears in what the exception says, inner exceptions included.
    private static void AssertNoCredentials(ObjectStoreException ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            Assert.DoesNotContain(WrongSecret, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(S3TestServer.SecretKey, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(S3TestServer.AccessKey, e.Message, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(WrongSecret, ex.ToString(), StringComparison.Ordinal);
    }
}
