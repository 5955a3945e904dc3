using System.Net;

namespace Dataflow.Storage.Tests.S3;

/// <summary>A multipart write that fails, is abandoned or is cancelled leaves no upload and no journal entry behind.</summary>
public sealed class S3AbortTests(S3Bucket bucket) : IClassFixture<S3Bucket>
{
    private const int MiB = 1 << 20;
    private const int PartSize = 5 * MiB;

    [Theory]
    [InlineData(HttpStatusCode.Forbidden, "AccessDenied", 1)] // not transient: not retried
    [InlineData(HttpStatusCode.InternalServerError, "InternalError", 3)] // transient: every attempt fails
    public async Task Write_PartTwoFailsForGood_ThrowsNamingTheKeyAndLeavesNoUpload(HttpStatusCode status, string code, int attempts)
    {
        var recorder = new S3Recorder { Fault = c => c.Operation == "UploadPart" && c.PartNumber == 2 ? S3Recorder.Error(status, code) : null };
        var prefix = S3Bucket.NewPrefix("part-fails");
        var store = bucket.Open(new S3Setup { PartSize = PartSize, MaxRequestAttempts = 3, Recorder = recorder }, prefix);
        await using var _ = store;

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(async () =>
        {
            var writer = await store.OpenWriteAsync("doomed.bin");
            await using (writer)
            {
                await S3Test.WriteInChunksAsync(writer, S3Test.Bytes((3 * PartSize) + 7, seed: 21), [1_048_573]);
                await writer.CompleteAsync();
            }
        });

        Assert.Equal("doomed.bin", ex.Key);
        Assert.Contains("'doomed.bin'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("part 2", ex.Message, StringComparison.Ordinal);
        Assert.Equal(attempts, recorder.Of("UploadPart").Count(c => c.PartNumber == 2));
        Assert.Equal(0, recorder.Count("CompleteMultipartUpload"));
        Assert.Equal(1, recorder.Count("AbortMultipartUpload"));
        await AssertNothingLeftAsync(store, prefix, "doomed.bin");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Dispose_AfterFirstPartUploaded_AbortsTheUpload(bool asynchronously)
    {
        var recorder = new S3Recorder();
        var partOne = PartUploaded(recorder, 1);
        var prefix = S3Bucket.NewPrefix("abandoned");
        var store = bucket.Open(new S3Setup { PartSize = PartSize, Recorder = recorder }, prefix);
        await using var _ = store;

        var writer = await store.OpenWriteAsync("abandoned.bin");
        await writer.WriteAsync(S3Test.Bytes(6 * MiB, seed: 22));
        await partOne.WaitAsync(S3Test.Hang);
        Assert.Equal([prefix + "abandoned.bin"], await S3Test.ListUploadsAsync(store, ""));
        Assert.Single(await S3Test.JournalAsync(store));

        if (asynchronously)
        {
            await writer.DisposeAsync();
        }
        else
        {
            writer.Dispose();
        }

        Assert.Equal(1, recorder.Count("AbortMultipartUpload"));
        Assert.Equal(0, recorder.Count("CompleteMultipartUpload"));
        await AssertNothingLeftAsync(store, prefix, "abandoned.bin");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Write_TokenCancelledMidUpload_ThrowsCancelledAndAbortsTheUpload(bool cancelDuringComplete)
    {
        var recorder = new S3Recorder();
        var partOne = PartUploaded(recorder, 1);
        var prefix = S3Bucket.NewPrefix("cancelled");
        var store = bucket.Open(new S3Setup { PartSize = PartSize, Recorder = recorder }, prefix);
        await using var _ = store;
        using var cancel = new CancellationTokenSource();

        var writer = await store.OpenWriteAsync("cancelled.bin", cancel.Token);
        await using (writer)
        {
            await writer.WriteAsync(S3Test.Bytes(6 * MiB, seed: 23), cancel.Token);
            await partOne.WaitAsync(S3Test.Hang);
            await cancel.CancelAsync();
            if (cancelDuringComplete)
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await writer.CompleteAsync(cancel.Token));

                // CompleteAsync aborts by itself, before the stream is disposed.
                Assert.Equal(1, recorder.Count("AbortMultipartUpload"));
            }
            else
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await writer.WriteAsync(S3Test.Bytes(6 * MiB, seed: 24), cancel.Token));
            }
        }

        Assert.Equal(1, recorder.Count("AbortMultipartUpload"));
        Assert.Equal(0, recorder.Count("CompleteMultipartUpload"));
        await AssertNothingLeftAsync(store, prefix, "cancelled.bin");
    }

    /// <summary>Completes when part <paramref name="number"/> has been uploaded (the server answered).</summary>
    internal static Task PartUploaded(S3Recorder recorder, int number)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        recorder.AfterSend = call =>
        {
            if (call.Operation == "UploadPart" && call.PartNumber == number)
            {
                done.TrySetResult();
            }
        };
        return done.Task;
    }

    // No upload (as this store and s3cmd list them), no journal entry, no object.
    private async Task AssertNothingLeftAsync(S3ObjectStore store, string prefix, string key)
    {
        Assert.Empty(await S3Test.ListUploadsAsync(store, ""));
        var s3cmd = await S3Cmd.RunAsync("multipart", $"s3://{bucket.Name}");
        Assert.DoesNotContain($"s3://{bucket.Name}/{prefix}{key}", s3cmd, StringComparison.Ordinal);
        Assert.Empty(await S3Test.JournalAsync(store));
        Assert.Null(await store.HeadAsync(key));
    }
}
