using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Dataflow.Worker.Tests.Collection;

[SuppressMessage("Design", "CA1001", Justification = "xunit 2 cleans up test classes through IAsyncLifetime.DisposeAsync, which disposes the store.")]
public sealed class ArtifactCollectorTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "dataflow-storage-tests", Guid.NewGuid().ToString("N"));
    private readonly IObjectStore _local;
    private readonly RecordingStore _store;

    public ArtifactCollectorTests()
    {
        _local = ObjectStore.OpenFolder(_folder);
        _store = new RecordingStore(_local);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>Only keys under "tmp/" are intermediate data.</summary>
    private ArtifactCollector Create(GcMode mode) => new(_store, mode, key => key.StartsWith("tmp/", StringComparison.Ordinal));

    private async Task PutAsync(params string[] keys)
    {
        foreach (var key in keys)
        {
            await _store.PutAsync(key, Encoding.UTF8.GetBytes(key));
        }
    }

    private async Task<bool> ExistsAsync(string key) => await _local.ExistsAsync(key);

    // ---------------------------------------------------------------- Eager

    [Fact]
    public async Task ReleaseAsync_EagerLastHolderReleased_DeletesWithoutWaitingForComplete()
    {
        await PutAsync("tmp/a");
        await using var collector = Create(GcMode.Eager);
        collector.Hold("A", ["tmp/a"]);

        await collector.ReleaseAsync("A");
        await _store.DeleteCallDoneAsync("tmp/a");

        Assert.False(await ExistsAsync("tmp/a"));
        Assert.Equal(["tmp/a"], _store.DeleteRequests);
        Assert.False(collector.IsHeld("tmp/a"));

        await collector.CompleteAsync();
        Assert.Equal(1, collector.Deleted);
        Assert.Empty(collector.Errors);
    }

    [Fact]
    public async Task ReleaseAsync_EagerKeyHeldByTwoHolders_SurvivesFirstReleaseAndGoesWithSecond()
    {
        await PutAsync("tmp/shared", "tmp/onlyA");
        await using var collector = Create(GcMode.Eager);
        collector.Hold("A", ["tmp/shared", "tmp/onlyA"]);
        collector.Hold("B", ["tmp/shared"]);

        await collector.ReleaseAsync("A");
        // "tmp/shared" comes first in A's holding: had the release made it garbage, its delete call would have
        // been made no later than the one for "tmp/onlyA".
        await _store.DeleteCallDoneAsync("tmp/onlyA");

        Assert.False(await ExistsAsync("tmp/onlyA"));
        Assert.True(await ExistsAsync("tmp/shared"));
        Assert.DoesNotContain("tmp/shared", _store.DeleteRequests);
        Assert.True(collector.IsHeld("tmp/shared"));

        await collector.ReleaseAsync("B");
        await _store.DeleteCallDoneAsync("tmp/shared");

        Assert.False(await ExistsAsync("tmp/shared"));
        await collector.CompleteAsync();
        Assert.Equal(["tmp/onlyA", "tmp/shared"], _store.DeleteRequests.Order(StringComparer.Ordinal));
        Assert.Equal(2, collector.Deleted);
    }

    // ---------------------------------------------------------------- holding

    [Theory]
    [InlineData(GcMode.Eager)]
    [InlineData(GcMode.End)]
    public async Task ReleaseAsync_KeyStillHeldByAnotherHolder_IsNotDeletedEvenAtComplete(GcMode mode)
    {
        await PutAsync("tmp/k");
        await using var collector = Create(mode);
        collector.Hold("A", ["tmp/k"]);
        collector.Hold("B", ["tmp/k"]);

        await collector.ReleaseAsync("A");
        await collector.CompleteAsync();

        Assert.True(await ExistsAsync("tmp/k"));
        Assert.Empty(_store.DeleteRequests);
        Assert.True(collector.IsHeld("tmp/k"));
    }

    [Theory]
    [InlineData(GcMode.Eager)]
    [InlineData(GcMode.End)]
    public async Task ReleaseAsync_SameHolderTwice_ReleasesItsHoldOnlyOnce(GcMode mode)
    {
        await PutAsync("tmp/k");
        await using var collector = Create(mode);
        collector.Hold("A", ["tmp/k"]);
        collector.Hold("B", ["tmp/k"]);

        await collector.ReleaseAsync("A");
        await collector.ReleaseAsync("A");
        await collector.CompleteAsync();

        Assert.True(await ExistsAsync("tmp/k"));
        Assert.Empty(_store.DeleteRequests);
    }

    [Theory]
    [InlineData(GcMode.Eager)]
    [InlineData(GcMode.End)]
    public async Task Hold_SameKeyListedTwiceByOneHolder_CountsOnce(GcMode mode)
    {
        await PutAsync("tmp/k");
        await using var collector = Create(mode);
        collector.Hold("A", ["tmp/k", "tmp/k"]);

        await collector.ReleaseAsync("A");
        await collector.CompleteAsync();

        Assert.False(await ExistsAsync("tmp/k"));
        Assert.Equal(["tmp/k"], _store.DeleteRequests);
    }

    [Fact]
    public async Task Hold_SameHolderTwice_ThrowsAndKeepsFirstHolding()
    {
        await using var collector = Create(GcMode.End);
        collector.Hold("A", ["tmp/1"]);

        var ex = Assert.Throws<InvalidOperationException>(() => collector.Hold("A", ["tmp/2"]));

        Assert.Contains("'A'", ex.Message, StringComparison.Ordinal);
        Assert.True(collector.IsHeld("tmp/1"));
        Assert.False(collector.IsHeld("tmp/2"));
    }

    [Fact]
    public async Task ReleaseAsync_UnknownHolder_DoesNothing()
    {
        await PutAsync("tmp/k");
        await using var collector = Create(GcMode.End);
        collector.Hold("A", ["tmp/k"]);

        await collector.ReleaseAsync("nobody");
        await collector.CompleteAsync();

        Assert.True(collector.IsHeld("tmp/k"));
        Assert.Empty(_store.DeleteCalls);
    }

    [Theory]
    [InlineData(GcMode.Eager)]
    [InlineData(GcMode.End)]
    public async Task ReleaseAsync_KeysFailingCollectablePredicate_AreNeverDeleted(GcMode mode)
    {
        await PutAsync("tmp/x", "out/y", "in/z");
        await using var collector = Create(mode);
        collector.Hold("A", ["tmp/x", "out/y", "in/z"]);

        Assert.False(collector.IsHeld("out/y"));
        await collector.ReleaseAsync("A");
        await collector.DiscardAsync(["out/y", "in/z"]);
        await collector.CompleteAsync();

        Assert.Equal(["tmp/x"], _store.DeleteRequests);
        Assert.False(await ExistsAsync("tmp/x"));
        Assert.True(await ExistsAsync("out/y"));
        Assert.True(await ExistsAsync("in/z"));
    }

    // ---------------------------------------------------------------- End and Never

    [Fact]
    public async Task ReleaseAsync_End_DeletesNothingUntilCompleteAsync()
    {
        await PutAsync("tmp/a", "tmp/b", "tmp/c");
        await using var collector = Create(GcMode.End);
        collector.Hold("A", ["tmp/a", "tmp/b"]);

        await collector.ReleaseAsync("A");
        await collector.DiscardAsync(["tmp/c"]);

        Assert.Empty(_store.DeleteCalls);
        Assert.True(await ExistsAsync("tmp/a"));
        Assert.True(await ExistsAsync("tmp/c"));
        Assert.Equal(0, collector.Deleted);

        await collector.CompleteAsync();

        Assert.Equal(["tmp/a", "tmp/b", "tmp/c"], _store.DeleteRequests.Order(StringComparer.Ordinal));
        Assert.Empty(await _local.ListAllAsync("tmp/"));
        Assert.Equal(3, collector.Deleted);
    }

    [Fact]
    public async Task CompleteAsync_Never_DeletesNothing()
    {
        await PutAsync("tmp/a", "tmp/b");
        var collector = Create(GcMode.Never);
        await using (collector)
        {
            collector.Hold("A", ["tmp/a"]);
            await collector.ReleaseAsync("A");
            await collector.DiscardAsync(["tmp/b"]);

            await collector.CompleteAsync();
        }

        Assert.Empty(_store.DeleteCalls);
        Assert.True(await ExistsAsync("tmp/a"));
        Assert.True(await ExistsAsync("tmp/b"));
        Assert.Equal(0, collector.Deleted);
        Assert.Equal(GcMode.Never, collector.Mode);
    }

    // ---------------------------------------------------------------- discard

    [Theory]
    [InlineData(GcMode.Eager)]
    [InlineData(GcMode.End)]
    public async Task DiscardAsync_HeldAndUnheldKeys_DeletesOnlyUnheld(GcMode mode)
    {
        await PutAsync("tmp/held", "tmp/unheld");
        await using var collector = Create(mode);
        collector.Hold("A", ["tmp/held"]);

        await collector.DiscardAsync(["tmp/held", "tmp/unheld"]);
        await collector.CompleteAsync();

        Assert.Equal(["tmp/unheld"], _store.DeleteRequests);
        Assert.True(await ExistsAsync("tmp/held"));
        Assert.False(await ExistsAsync("tmp/unheld"));
        Assert.Equal(1, collector.Deleted);
    }

    // ---------------------------------------------------------------- batches

    [Theory]
    [InlineData(GcMode.Eager, 1)]
    [InlineData(GcMode.Eager, 2500)]
    [InlineData(GcMode.End, 1)]
    [InlineData(GcMode.End, 2500)]
    public async Task ReleaseAsync_2500Keys_NoDeleteCallCarriesMoreThan1000Keys(GcMode mode, int holders)
    {
        var keys = Enumerable.Range(0, 2500).Select(i => $"tmp/k{i:D4}").ToArray();
        await PutAsync(keys[0], keys[1234], keys[2499]);
        await using var collector = Create(mode);
        for (var h = 0; h < holders; h++)
        {
            collector.Hold($"holder{h}", keys.Where((_, i) => i % holders == h));
        }

        for (var h = 0; h < holders; h++)
        {
            await collector.ReleaseAsync($"holder{h}");
        }

        await collector.CompleteAsync();

        var calls = _store.DeleteCalls;
        Assert.NotEmpty(calls);
        Assert.All(calls, call => Assert.InRange(call.Length, 1, 1000));
        Assert.Equal(keys, calls.SelectMany(c => c).Order(StringComparer.Ordinal));
        if (mode == GcMode.End)
        {
            Assert.Equal(3, calls.Count);
        }

        Assert.Equal(3, collector.Deleted);
        Assert.Empty(await _local.ListAllAsync(""));
        Assert.Empty(collector.Errors);
    }

    // ---------------------------------------------------------------- failures

    [Theory]
    [InlineData(GcMode.Eager)]
    [InlineData(GcMode.End)]
    public async Task CompleteAsync_StoreDeleteThrows_RecordsErrorAndDoesNotThrow(GcMode mode)
    {
        await PutAsync("tmp/a", "tmp/b");
        var failure = new ObjectStoreException(_store.Location, "tmp/a", "disk on fire");
        _store.FailDelete = (_, _) => failure;
        await using var collector = Create(mode);
        collector.Hold("A", ["tmp/a", "tmp/b"]);

        await collector.ReleaseAsync("A");
        await collector.CompleteAsync();

        Assert.Same(failure, Assert.Single(collector.Errors));
        Assert.Equal(0, collector.Deleted);
        Assert.True(await ExistsAsync("tmp/a"));
        Assert.True(await ExistsAsync("tmp/b"));
    }

    [Fact]
    public async Task CompleteAsync_EagerStoreDeleteFailsOnce_LaterReleasesAreStillDeleted()
    {
        await PutAsync("tmp/a", "tmp/b");
        _store.FailDelete = (call, _) => call == 1 ? new IOException("transient") : null;
        await using var collector = Create(GcMode.Eager);
        collector.Hold("A", ["tmp/a"]);
        collector.Hold("B", ["tmp/b"]);

        await collector.ReleaseAsync("A");
        await _store.DeleteCallDoneAsync("tmp/a");
        await collector.ReleaseAsync("B");
        await collector.CompleteAsync();

        Assert.IsType<IOException>(Assert.Single(collector.Errors));
        Assert.True(await ExistsAsync("tmp/a"));
        Assert.False(await ExistsAsync("tmp/b"));
        Assert.Equal(1, collector.Deleted);
    }

    [Fact]
    public async Task CompleteAsync_EagerStoreThrowsCancellationNobodyRequested_RecordsErrorAndKeepsDeleting()
    {
        // Regression: a cancellation exception that no caller asked for (e.g. an HTTP client's timeout surfaces as
        // TaskCanceledException) escaped the eager deleter, which then stopped: later garbage was never deleted,
        // CompleteAsync threw it, and once the queue filled up every release would have waited forever.
        await PutAsync("tmp/a", "tmp/b");
        _store.FailDelete = (call, _) => call == 1 ? new TaskCanceledException("the request timed out") : null;
        await using var collector = Create(GcMode.Eager);
        collector.Hold("A", ["tmp/a"]);
        collector.Hold("B", ["tmp/b"]);

        await collector.ReleaseAsync("A");
        await _store.DeleteCallDoneAsync("tmp/a");
        await collector.ReleaseAsync("B");
        await collector.CompleteAsync();

        Assert.IsType<TaskCanceledException>(Assert.Single(collector.Errors));
        Assert.True(await ExistsAsync("tmp/a"));
        Assert.False(await ExistsAsync("tmp/b"));
        Assert.Equal(1, collector.Deleted);
    }

    [Fact]
    public async Task CompleteAsync_EndStoreThrowsCancellationNobodyRequested_RecordsErrorAndDeletesOtherBatches()
    {
        var keys = Enumerable.Range(0, 1500).Select(i => $"tmp/k{i:D4}").ToArray();
        await PutAsync(keys[0], keys[1499]);
        _store.FailDelete = (call, _) => call == 1 ? new OperationCanceledException("the request timed out") : null;
        await using var collector = Create(GcMode.End);
        collector.Hold("A", keys);

        await collector.ReleaseAsync("A");
        await collector.CompleteAsync();

        Assert.IsType<OperationCanceledException>(Assert.Single(collector.Errors));
        Assert.Equal(2, _store.DeleteCalls.Count);
        Assert.True(await ExistsAsync(keys[0]));
        Assert.False(await ExistsAsync(keys[1499]));
    }

    [Fact]
    public async Task CompleteAsync_EndCallerCancels_ThrowsAndRecordsNoError()
    {
        await PutAsync("tmp/a");
        await using var collector = Create(GcMode.End);
        collector.Hold("A", ["tmp/a"]);
        await collector.ReleaseAsync("A");
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => collector.CompleteAsync(cancellation.Token));

        Assert.Empty(collector.Errors);
        Assert.True(await ExistsAsync("tmp/a"));
    }
}
