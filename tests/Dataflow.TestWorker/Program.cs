using System.Diagnostics;
using Dataflow.Storage;
using Dataflow.TestWorker;
using Dataflow.Worker;
using Microsoft.Extensions.Logging.Abstractions;

// `Dataflow.TestWorker worker --plan <uri> --serve [--protocol-breaker <line>]`: serves the tasks of a PoolTestJob run
// on stdin and stdout, as a Dataflow program's `worker --serve` does, its spans recorded when $DATAFLOW_TEST_WORKER_TRACED is 1. With --protocol-breaker it writes <line> on stdout
// instead of greeting the driver, and exits when stdin ends: a worker of another build, for the protocol-error test.
if (args is not ["worker", "--plan", var address, "--serve", .. var rest])
{
    await Console.Error.WriteLineAsync("usage: Dataflow.TestWorker worker --plan <uri> --serve [--protocol-breaker <line>]");
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
