using System.Net;

namespace Dataflow.Storage.Tests.S3;

/// <summary>
/// A compose or upload of many parts, sent a few at a time, whose one part fails for good: what is reported is that
/// part's error, not the cancellation its failure caused of the parts in flight and of the wait for a free slot.
/// </summary>
public sealed class S3PartFailureTests(S3Bucket bucket) : IClassFixture<S3Bucket>
{
    private const int MiB = 1 << 20;
    private const int Parts = 24;
    private const int FailingPart = 2;

    [Fact]
    public async Task Compose_ManyCopyPartsOneAnswers500_ThrowsThe500NotACancellation()
    {
        // Regression: with more parts than slots, the loop that hands out parts waits for a slot with the token the
        // first failure cancels, and that cancellation was what the compose threw.
        var recorder = FailPartTwo("UploadPartCopy");
        var store = bucket.Open(new S3Setup { Recorder = recorder, MaxConcurrentParts = 4 }, S3Bucket.NewPrefix("compose-500"));
        await using var _ = store;
        await store.PutAsync("five.bin", S3Test.Bytes(5 * MiB, seed: 81));
        var sources = Enumerable.Repeat(ObjectSegment.Whole("five.bin", 5 * MiB), Parts).ToList();

        var ex = await Record.ExceptionAsync(async () => await store.ComposeAsync("out.bin", sources).AsTask().WaitAsync(S3Test.Hang));

        AssertReportsThe500(ex, recorder, "UploadPartCopy");
        Assert.Null(await store.HeadAsync("out.bin"));
        Assert.Equal(1, recorder.Count("AbortMultipartUpload"));
        Assert.Empty(await S3Test.ListUploadsAsync(store, ""));
        Assert.Empty(await S3Test.JournalAsync(store));
    }

    [Fact]
    public async Task Write_ManyPartsOneAnswers500_ThrowsThe500NotACancellation()
    {
        var recorder = FailPartTwo("UploadPart");
        var store = bucket.Open(new S3Setup { Recorder = recorder, MaxConcurrentParts = 4 }, S3Bucket.NewPrefix("write-500"));
        await using var _ = store;
        var chunk = S3Test.Bytes(MiB, seed: 82);

        var ex = await Record.ExceptionAsync(async () =>
        {
            var writer = await store.OpenWriteAsync("out.bin");
            await using (writer)
            {
                for (var i = 0; i < Parts * 5; i++)
                {
                    await writer.WriteAsync(chunk);
                }

                await writer.CompleteAsync();
            }
        }).WaitAsync(S3Test.Hang);

        AssertReportsThe500(ex, recorder, "UploadPart");
        Assert.Null(await store.HeadAsync("out.bin"));
        Assert.Empty(await S3Test.ListUploadsAsync(store, ""));
        Assert.Empty(await S3Test.JournalAsync(store));
    }

    /// <summary>
    /// A recorder that answers every attempt at part <see cref="FailingPart"/> of <paramref name="operation"/> with a 500,
    /// and holds the other parts back until the store gives them up, so that every slot stays taken while that part
    /// fails: the failure surely finds the writer (or the compose's loop) waiting for a slot.
    /// </summary>
    private static S3Recorder FailPartTwo(string operation) => new()
    {
        Fault = call => call.Operation == operation && call.PartNumber == FailingPart ? S3Recorder.Error(HttpStatusCode.InternalServerError, "InternalError") : null,
        BeforeSend = async call =>
        {
            if (call.Operation == operation && call.PartNumber != FailingPart)
            {
                await Task.Delay(S3Test.Hang, call.Abandoned);
            }
        },
    };

    private static void AssertReportsThe500(Exception? ex, S3Recorder recorder, string operation)
    {
        Assert.NotNull(ex);
        Assert.False(ex is OperationCanceledException, $"a cancellation was reported instead of the part's failure: {ex}");
        var storeError = Assert.IsAssignableFrom<ObjectStoreException>(ex);
        Assert.Contains("500 InternalError", storeError.Message, StringComparison.Ordinal);
        Assert.Contains($"part {FailingPart}", storeError.Message, StringComparison.Ordinal);

        // The part was tried as often as the policy allows (the default 4 attempts), and then the upload given up.
        Assert.Equal(4, recorder.Of(operation).Count(c => c.PartNumber == FailingPart));
    }
}
