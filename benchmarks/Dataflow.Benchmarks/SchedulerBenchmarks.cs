using System.Globalization;
using System.Threading.Tasks.Dataflow;
using BenchmarkDotNet.Attributes;

namespace Dataflow.Benchmarks;

/// <summary>
/// The local executor's scheduling overhead: the DAG of a pairwise reduce tree over <see cref="Inputs"/> objects
/// (1,000,007 tasks for 1,000,000 inputs, in 20 levels of 500,000, 250,000, …, 1 — a level of an odd count of
/// objects has one task with a single input) run with a
/// no-op for every task, against the same number of no-op items run level by level by the framework's general
/// parallel loops. Every row does exactly one no-op per task: it marks the task's flat index in a byte array
/// (<c>_ran[i] = 1</c>), so nothing is elided and no row shares a counter the others do not.
/// </summary>
/// <remarks>
/// <para>The rows:</para>
/// <list type="bullet">
/// <item><b>Parallel.ForEachAsync per level</b> (baseline): for each stage of the plan in order, one
/// <c>Parallel.ForEachAsync(Enumerable.Range(first, count), …)</c> over the stage's flat index range with
/// <c>MaxDegreeOfParallelism = Environment.ProcessorCount</c>, awaited before the next stage starts. The await is a
/// barrier per level, which is what a general parallel loop needs to honour the tree's dependencies (every task of
/// a level depends only on tasks of the level before). This is what someone would write instead of a scheduler.</item>
/// <item><b>ActionBlock per level</b>: the same, with one TPL Dataflow <c>ActionBlock&lt;int&gt;</c> per stage
/// (synchronous delegate, <c>MaxDegreeOfParallelism = Environment.ProcessorCount</c>): every index posted, the block
/// completed and its completion awaited before the next stage.</item>
/// <item><b>DagScheduler, workers = ProcessorCount</b>: <c>DagScheduler.RunAsync</c> over the plan's
/// <c>DagGraph</c> (built once in the global setup, as a run builds it once) with as many workers as the baselines'
/// degree of parallelism. No barrier: each task is released when its own two inputs are done, through the
/// dependency counters and the ready channel.</item>
/// <item><b>DagScheduler, workers = LocalExecutor.InFlight</b>: the same with the worker count the local executor
/// really passes (<c>LocalExecutor.InFlight(ProcessorCount)</c>, at least 256: most of them wait on group commits
/// in a real run, here they contend for the ready queue).</item>
/// </list>
/// <para>The comparison is honest in the work (identical no-op per task, same task count) and in the parallelism
/// (same degree in the first three rows); it is favourable to the baselines in that they need no dependency
/// tracking at all, which is exactly the overhead being measured. The target: DagScheduler within 1.2× of
/// Parallel.ForEachAsync.</para>
/// </remarks>
[MemoryDiagnoser]
public class SchedulerBenchmarks
{
    private DagGraph _graph = null!;
    private (int First, int End)[] _levels = null!;
    private byte[] _ran = null!;
    private Func<int, CancellationToken, ValueTask> _noOpLoop = null!;
    private Action<int> _noOp = null!;

    /// <summary>Inputs of the reduce tree; the DAG has about as many tasks.</summary>
    [Params(1_000_000)]
    public int Inputs { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        var job = Job.Named("bench").FromPrefix("input/").ReduceTree(2, new ConcatOperator()).WriteTo("output/merged.txt");
        var inputs = Enumerable.Range(0, Inputs)
            .Select(i => new PlanInput("input/" + i.ToString("D7", CultureInfo.InvariantCulture) + ".txt", 1))
            .ToArray();
        var plan = JobPlanner.CreatePlan(job, inputs, "bench-run", DateTimeOffset.UnixEpoch);
        _graph = DagGraph.FromPlan(plan);
        _levels = new (int, int)[plan.Stages.Count];
        for (int s = 0, first = 0; s < plan.Stages.Count; s++)
        {
            _levels[s] = (first, first + plan.Stages[s].Tasks.Count);
            first = _levels[s].End;
        }

        // Every level may depend only on the level before it, or the baselines' barriers would not be enough.
        for (var i = 0; i < _graph.Count; i++)
        {
            var level = _graph.IdOf(i).Stage;
            foreach (var d in _graph.Dependents[i])
            {
                if (_graph.IdOf(d).Stage != level + 1)
                {
                    throw new InvalidOperationException($"task {i} (level {level}) has dependent {d} outside the next level");
                }
            }
        }

        _ran = new byte[_graph.Count];
        _noOp = i => _ran[i] = 1;
        _noOpLoop = (i, _) =>
        {
            _ran[i] = 1;
            return ValueTask.CompletedTask;
        };

        foreach (var (name, run) in new (string, Func<Task>)[]
        {
            ("Parallel.ForEachAsync", ParallelForEachAsync),
            ("ActionBlock", ActionBlockPerLevel),
            ("DagScheduler", DagSchedulerProcessorCount),
            ("DagScheduler (in flight)", DagSchedulerInFlight),
        })
        {
            Array.Clear(_ran);
            await run();
            if (Array.IndexOf(_ran, (byte)0) is var missed and >= 0)
            {
                throw new InvalidOperationException($"{name} did not run task {missed}");
            }
        }

        Console.WriteLine($"// {_graph.Count:N0} tasks in {_levels.Length} levels; {Environment.ProcessorCount} processors; LocalExecutor.InFlight = {LocalExecutor.InFlight(Environment.ProcessorCount)}");
    }

    [Benchmark(Baseline = true, Description = "Parallel.ForEachAsync per level (DOP = cores)")]
    public async Task ParallelForEachAsync()
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        foreach (var (first, end) in _levels)
        {
            await Parallel.ForEachAsync(Enumerable.Range(first, end - first), options, _noOpLoop);
        }
    }

    [Benchmark(Description = "ActionBlock per level (DOP = cores)")]
    public async Task ActionBlockPerLevel()
    {
        var options = new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        foreach (var (first, end) in _levels)
        {
            var block = new ActionBlock<int>(_noOp, options);
            for (var i = first; i < end; i++)
            {
                block.Post(i);
            }

            block.Complete();
            await block.Completion;
        }
    }

    [Benchmark(Description = "DagScheduler, no barrier (workers = cores)")]
    public Task DagSchedulerProcessorCount() =>
        DagScheduler.RunAsync(_graph, null, Environment.ProcessorCount, _noOpLoop, CancellationToken.None);

    [Benchmark(Description = "DagScheduler, no barrier (workers = LocalExecutor.InFlight)")]
    public Task DagSchedulerInFlight() =>
        DagScheduler.RunAsync(_graph, null, LocalExecutor.InFlight(Environment.ProcessorCount), _noOpLoop, CancellationToken.None);
}
