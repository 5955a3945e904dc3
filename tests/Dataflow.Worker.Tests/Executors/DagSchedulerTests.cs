using System.Collections.Concurrent;

namespace Dataflow.Worker.Tests.Executors;

public sealed class DagSchedulerTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task RunAsync_Chain_RunsEveryTaskAfterItsDependencies()
    {
        // 0 <- 1 <- 2 ... <- 99, plus a fan-in: 100 depends on all of 0..99.
        var dependencies = Enumerable.Range(0, 100).Select(i => i == 0 ? Array.Empty<int>() : [i - 1]).Append(Enumerable.Range(0, 100).ToArray()).ToArray();
        var finished = new ConcurrentDictionary<int, bool>();
        var violations = new ConcurrentBag<string>();

        await DagScheduler.RunAsync(DagGraph.FromDependencies(dependencies), null, 4, (i, token) =>
        {
            foreach (var d in dependencies[i])
            {
                if (!finished.ContainsKey(d))
                {
                    violations.Add($"{i} started before {d} finished");
                }
            }

            finished[i] = true;
            return ValueTask.CompletedTask;
        }, CancellationToken.None);

        Assert.Empty(violations);
        Assert.Equal(101, finished.Count);
    }

    [Fact]
    public async Task RunAsync_IndependentBranches_NoStageBarrier()
    {
        // Two chains: a0 -> a1 and b0 -> b1, listed so that a "stage" would be {a0, b0} then {a1, b1}.
        // b0 waits until a1 has started: a stage barrier would deadlock here.
        int[][] dependencies = [[], [], [0], [1]];
        var a1Started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        await DagScheduler.RunAsync(DagGraph.FromDependencies(dependencies), null, 2, async (i, token) =>
        {
            switch (i)
            {
                case 1:
                    await a1Started.Task.WaitAsync(s_patience, token);
                    break;
                case 2:
                    a1Started.TrySetResult();
                    break;
            }
        }, CancellationToken.None).WaitAsync(s_patience);

        Assert.True(a1Started.Task.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task RunAsync_Concurrency_NeverExceeded()
    {
        var dependencies = Enumerable.Range(0, 200).Select(_ => Array.Empty<int>()).ToArray();
        var running = 0;
        var peak = 0;

        await DagScheduler.RunAsync(DagGraph.FromDependencies(dependencies), null, 3, async (i, token) =>
        {
            var now = Interlocked.Increment(ref running);
            int seen;
            while (now > (seen = Volatile.Read(ref peak)) && Interlocked.CompareExchange(ref peak, now, seen) != seen)
            {
            }

            await Task.Yield();
            Interlocked.Decrement(ref running);
        }, CancellationToken.None);

        Assert.InRange(peak, 1, 3);
    }

    [Fact]
    public async Task RunAsync_TaskFails_RethrowsTheFailureAndStartsNoDependent()
    {
        int[][] dependencies = [[], [0], [1]];
        var ran = new ConcurrentBag<int>();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => DagScheduler.RunAsync(DagGraph.FromDependencies(dependencies), null, 2, (i, token) =>
        {
            ran.Add(i);
            return i == 1 ? throw new InvalidOperationException("task 1 broke") : ValueTask.CompletedTask;
        }, CancellationToken.None));

        Assert.Equal("task 1 broke", error.Message);
        Assert.DoesNotContain(2, ran);
    }

    [Fact]
    public async Task RunAsync_FailureWhileOthersRun_CancelsThem()
    {
        int[][] dependencies = [[], []];
        var otherCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        await Assert.ThrowsAsync<IOException>(() => DagScheduler.RunAsync(DagGraph.FromDependencies(dependencies), null, 2, async (i, token) =>
        {
            if (i == 0)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                }
                catch (OperationCanceledException)
                {
                    otherCancelled.TrySetResult();
                    throw;
                }
            }
            else
            {
                await Task.Yield();
                throw new IOException("disk gone");
            }
        }, CancellationToken.None).WaitAsync(s_patience));

        Assert.True(otherCancelled.Task.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task RunAsync_Cancelled_ThrowsOperationCanceled()
    {
        int[][] dependencies = [[], [0]];
        using var cancel = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => DagScheduler.RunAsync(DagGraph.FromDependencies(dependencies), null, 1, async (i, token) =>
        {
            await cancel.CancelAsync();
            await Task.Delay(Timeout.Infinite, token);
        }, cancel.Token).WaitAsync(s_patience));
    }

    [Fact]
    public async Task RunAsync_DoneTasks_AreSkippedAndReleaseTheirDependents()
    {
        int[][] dependencies = [[], [0], [1]];
        var ran = new ConcurrentBag<int>();

        await DagScheduler.RunAsync(DagGraph.FromDependencies(dependencies), [true, true, false], 2, (i, token) =>
        {
            ran.Add(i);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);

        Assert.Equal([2], ran.ToArray());
    }

    /// <summary>
    /// Regression: a task done before the run (taken from the task cache) whose dependency was not done (its cache
    /// entry damaged) ran again when that dependency finished, and its commit was recorded twice.
    /// </summary>
    [Fact]
    public async Task RunAsync_DoneTaskWithAnUnfinishedDependency_IsNotRunWhenTheDependencyFinishes()
    {
        // 2 reads 0 and 1; 0 and 2 are done, 1 is not; 3 reads 2.
        int[][] dependencies = [[], [], [0, 1], [2]];
        var ran = new ConcurrentBag<int>();

        await DagScheduler.RunAsync(DagGraph.FromDependencies(dependencies), [true, false, true, false], 2, (i, token) =>
        {
            ran.Add(i);
            return ValueTask.CompletedTask;
        }, CancellationToken.None).WaitAsync(s_patience);

        Assert.Equal([1, 3], ran.Order());
    }

    [Fact]
    public async Task RunAsync_Cycle_RefusedInsteadOfHanging()
    {
        int[][] dependencies = [[1], [0]];

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            DagScheduler.RunAsync(DagGraph.FromDependencies(dependencies), null, 2, (i, token) => ValueTask.CompletedTask, CancellationToken.None));
    }
}
