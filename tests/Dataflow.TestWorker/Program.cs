using System.Diagnostics;
using System.Globalization;
using Dataflow.Storage;
using Dataflow.TestWorker;
using Dataflow.Worker;
using Microsoft.Extensions.Logging.Abstractions;

// `Dataflow.TestWorker worker --plan <uri> --serve [--protocol-breaker <line>]`: serves the tasks of a PoolTestJob run
// on stdin and stdout, as a Dataflow program's `worker --serve` does, its spans recorded when $DATAFLOW_TEST_WORKER_TRACED is 1. With --protocol-breaker it writes <line> on stdout
// instead of greeting the driver, and exits when stdin ends: a worker of another build, for the protocol-error test.
// `Dataflow.TestWorker worker --plan <uri> --stage <s> --shard-size <k> [--shard <i>]`: runs a shard of a PoolTestJob
// run's stage as a pod does (the shard from $JOB_COMPLETION_INDEX unless --shard is given), through TaskWorker.RunAsync
// as a Dataflow program's worker command does: the cluster executors' tests run it as their pods.
if (args is ["worker", "--plan", var shardPlan, "--stage", var stageText, "--shard-size", var sizeText, .. var shardArgs])
{
    return await RunShardAsync(shardPlan, int.Parse(stageText, CultureInfo.InvariantCulture), int.Parse(sizeText, CultureInfo.InvariantCulture), shardArgs);
}

if (args is not ["worker", "--plan", var address, "--serve", .. var rest])
{
    await Console.Error.WriteLineAsync("usage: Dataflow.TestWorker worker --plan <uri> (--serve [--protocol-breaker <line>] | --stage <s> --shard-size <k> [--shard <i>])");
    return 2;
}

if (rest is ["--protocol-breaker", var line])
{
    await Console.Out.WriteLineAsync(line);
    await Console.Out.FlushAsync();
    while (await Console.In.ReadLineAsync() is not null)
    {
    }

    return 0;
}

var folder = Environment.GetEnvironmentVariable(PoolTestJob.FolderVariable)
    ?? throw new InvalidOperationException($"set {PoolTestJob.FolderVariable}");
// As a traced program's telemetry would: something listens to Dataflow's spans, so the worker starts them.
using var listener = new ActivityListener
{
    ShouldListenTo = source => source.Name == DataflowTracing.SourceName,
    Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
};
if (Environment.GetEnvironmentVariable(PoolTestJob.TracedVariable) == "1")
{
    ActivitySource.AddActivityListener(listener);
}

var (location, runId) = PlanAddress.Parse(address);
var store = await ObjectStore.OpenAsync(location);
await using (store)
{
    try
    {
        using var requests = new StreamReader(Console.OpenStandardInput());
        var served = await TaskWorker.ServeAsync(store, runId, _ => PoolTestJob.Create(folder), requests, Console.Out, NullLogger.Instance);
        return served ? 0 : 2;
    }
    catch (Exception ex) when (ex is InvalidDataException or ArgumentException)
    {
        await Console.Error.WriteLineAsync($"worker: {ex.Message}");
        return 2;
    }
}

static async Task<int> RunShardAsync(string address, int stage, int size, string[] rest)
{
    var folder = Environment.GetEnvironmentVariable(PoolTestJob.FolderVariable)
        ?? throw new InvalidOperationException($"set {PoolTestJob.FolderVariable}");
    var shard = rest is ["--shard", var text] ? text : Environment.GetEnvironmentVariable(WorkerEnvironment.CompletionIndex)
        ?? throw new InvalidOperationException($"give --shard or set {WorkerEnvironment.CompletionIndex}");
    var first = int.Parse(shard, CultureInfo.InvariantCulture) * size;
    var (location, runId) = PlanAddress.Parse(address);
    var store = await ObjectStore.OpenAsync(location);
    await using (store)
    {
        var work = await TaskWorker.LoadTasksAsync(store, runId, stage, first, first + size - 1, lastMayPassTheEnd: true);
        if (work is null)
        {
            await Console.Error.WriteLineAsync($"worker: there is no plan at '{address}'");
            return 2;
        }

        var outcome = await TaskWorker.RunAsync(
            store, work.Plan, PoolTestJob.Create(folder), work.Tasks, concurrency: 4, attempt: 1, Console.Out,
            message => Console.Error.WriteLine($"worker: error: {message}"), NullLogger.Instance, CancellationToken.None);
        return outcome switch { ShardOutcome.Succeeded => 0, ShardOutcome.FailedPermanently => 2, _ => 1 };
    }
}
