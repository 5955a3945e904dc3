using Dataflow.Core;
using Dataflow.Hosting;
using Dataflow.OwnJob;
using Dataflow.Storage;
using Dataflow.Worker;

// own-job <store>            sums the numbers in the store's input/ objects into output/sum.txt, with worker processes
// own-job <store> --resume   resumes, from code, the store's last run that did not finish
// own-job resume <run-id> --store <store> --executor process, and runs, status, gc: the same from the command line

// First: serve as this program's own worker process ('worker …'), or run another Dataflow command, and exit.
if (await DataflowCommands.TryRunAsync(args, DefineJob) is { } exitCode)
{
    return exitCode;
}

if (args is not ([_] or [_, "--resume"]))
{
    Console.Error.WriteLine($"usage: own-job <store> [--resume], or own-job {string.Join('|', DataflowCommands.Names)} …");
    return ExitCodes.Usage;
}

// What defines the job: stored with the run, handed back to DefineJob by workers and by 'resume'.
string[] arguments = ["input/", "output/sum.txt"];
var options = new JobRunnerOptions
{
    Arguments = arguments,
    Concurrency = 2,
    Executor = Executor.WorkerProcesses(),
};

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var store = await ObjectStore.OpenAsync(args[0]);
await using (store)
{
    var runner = new JobRunner(store, options);
    try
    {
        RunResult result;
        if (args is [_, "--resume"])
        {
            var unfinished = (await RunCatalog.ListAsync(store)).LastOrDefault(r => r.State is RunCatalog.Interrupted or "failed" or "cancelled");
            if (unfinished is null || await RunCatalog.GetStatusAsync(store, unfinished.RunId) is not { Arguments: { } stored })
            {
                Console.Error.WriteLine($"own-job: no run to resume in {store.Location}");
                return ExitCodes.Usage;
            }

            result = await runner.ResumeAsync(DefineJob(stored), unfinished.RunId, cancellationToken: cancel.Token);
        }
        else
        {
            result = await runner.RunAsync(DefineJob(arguments), cancellationToken: cancel.Token);
        }

        Console.WriteLine(result.Summary.ToJson());
        return ExitCodes.Success;
    }
    catch (JobDefinitionException ex)
    {
        Console.Error.WriteLine($"own-job: {ex.Message}");
        return ExitCodes.Usage;
    }
    catch (RunCancelledException ex)
    {
        Console.Error.WriteLine($"own-job: run {ex.RunId} cancelled after {ex.Summary?.TasksRun} tasks; 'own-job {args[0]} --resume' goes on");
        return ExitCodes.Cancelled;
    }
    catch (JobFailedException ex)
    {
        Console.Error.WriteLine($"own-job: {ex.Message}; run {ex.RunId} keeps what committed");
        Console.WriteLine(ex.Summary.ToJson());
        return ExitCodes.Failure;
    }
}

static Job DefineJob(IReadOnlyList<string> arguments) =>
    Job.Named("sum-numbers").FromPrefix(arguments[0]).ReduceTree(fanIn: 4, new SumOperator()).WriteTo(arguments[1]);
