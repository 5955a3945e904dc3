using System.CommandLine;
using System.Globalization;
using System.Text;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>The <c>worker</c> command: what the process executor (and a pod) runs.</summary>
internal sealed class WorkerCommand(AppDefinition app, AppConsole console, RunCommand run)
{
    private readonly AppOption<string?> _plan = new("--plan", "The address of the run's plan: <store>/_dataflow/runs/<run-id>/plan.json. The store, run and job are found from it.", null, "URI", null, null);
    private readonly AppOption<int> _stage = new("--stage", "The stage of the tasks, from 0.", 0, "S", null, v => v >= 0 ? null : "must be 0 or more");
    private readonly AppOption<string?> _task = new("--task", "The task's index in its stage. Default: $JOB_COMPLETION_INDEX (an indexed Kubernetes Job's pod index).", null, "I", null, null);
    private readonly AppOption<string?> _tasks = new("--tasks", "A range of task indexes of the stage, e.g. 0-99, instead of --task: one process runs a shard of tasks.", null, "A-B", null, null);
    private readonly AppOption<int?> _shardSize = new("--shard-size", "Run shard --shard of the stage: tasks shard*K to shard*K+K-1 (fewer in the last shard). How a pod of an indexed Job or of an Argo fan-out finds its tasks.", null, "K", null, v => v is null or >= 1 ? null : "must be 1 or more");
    private readonly AppOption<int?> _shard = new("--shard", "With --shard-size: the shard to run, from 0. Default: $JOB_COMPLETION_INDEX.", null, "I", null, v => v is null or >= 0 ? null : "must be 0 or more");
    private readonly AppOption<int> _concurrency = new("--concurrency", "Tasks of a --tasks range running at once.", Environment.ProcessorCount, "N", null, v => v is >= 1 and <= 4096 ? null : "must be between 1 and 4096");
    private readonly AppOption<bool> _serve = new("--serve", "Serve tasks of the plan one at a time, as they come on stdin, instead of --task/--tasks/--shard-size: what --executor process runs, a pool of long-lived workers. The plan and the job are loaded once; each request line (JSON: protocol, task, attempt, traceParent) gets one report line on stdout. Exits 0 when stdin ends.", false, null, null, null);

    public Command Create()
    {
        var command = new Command("worker", "Run tasks of a stored plan and commit them (what a pod runs, and, with --serve, each worker process of --executor process). Exit code 0: every task given is committed, now or before; 1: a task failed; 2: usage error.");
        var options = CommandSupport.AddOptions(command, [_plan, _stage, _task, _tasks, _shardSize, _shard, _concurrency, _serve, .. app.Forwarded, .. app.Telemetry.ForWorkers]);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var context = new RunContext(app.Name, parse, options, console);
            using var telemetry = app.Telemetry.Start(context, worker: true);
            if (context.Get(_plan) is not { } address)
            {
                return CommandSupport.Usage(context, "worker needs --plan");
            }

            if (context.Get(_serve))
            {
                return await ServeAsync(context, address, telemetry, cancellationToken).ConfigureAwait(false);
            }

            (int First, int Last) range = default;
            return await WithPlanStoreAsync(
                context,
                address,
                () => range = SelectTasks(context.Get(_task), context.Get(_tasks), context.Get(_shardSize), context.Get(_shard)),
                ex => CommandSupport.IsJobDefinitionError(ex) || ex is InvalidDataException,
                async (store, runId) =>
                {
                    var stageIndex = context.Get(_stage);
                    WorkerTasks? work;
                    try
                    {
                        work = await TaskWorker.LoadTasksAsync(store, runId, stageIndex, range.First, range.Last, lastMayPassTheEnd: context.Get(_shardSize) is not null, cancellationToken).ConfigureAwait(false);
                    }
                    catch (ArgumentException ex)
                    {
                        return CommandSupport.Usage(context, $"worker: {ex.Message}");
                    }

                    if (work is null)
                    {
                        return CommandSupport.Usage(context, $"worker: there is no plan at '{address}'");
                    }

                    var stored = work.Plan;
                    range = (work.Tasks[0].Index, work.Tasks[^1].Index);
                    var (_, job) = run.DefineJobFromArguments(stored, []);
                    var attempt = int.TryParse(Environment.GetEnvironmentVariable(WorkerEnvironment.Attempt), NumberStyles.None, CultureInfo.InvariantCulture, out var a) && a >= 1 ? a : 1;
                    using var span = TaskWorker.StartSpan(stored, stageIndex, range, attempt);
                    var outcome = await TaskWorker.RunAsync(
                        store, stored, job, work.Tasks, context.Get(_concurrency), attempt, console.Out,
                        message => context.Info($"worker: error: {message}"),
                        telemetry.LoggerFactory.CreateLogger("Dataflow.Worker"),
                        cancellationToken).ConfigureAwait(false);
                    // A permanent failure exits as a usage error does: the pods' failure policy (FailIndex) and Argo's
                    // retry expression do not try a shard again that cannot succeed.
                    return outcome switch
                    {
                        ShardOutcome.Succeeded => ExitCodes.Success,
                        ShardOutcome.FailedPermanently => ExitCodes.Usage,
                        _ => ExitCodes.Failure,
                    };
                },
                cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>
    /// <c>worker --serve</c>: serves the tasks the process executor sends on stdin until it closes stdin (see
    /// <see cref="TaskWorker.ServeAsync"/>). Stdout carries only the protocol's lines; messages, and anything written to
    /// the console while it serves, go to stderr.
    /// </summary>
    private async Task<int> ServeAsync(RunContext context, string address, Telemetry telemetry, CancellationToken cancellationToken)
    {
        if (context.Get(_task) is not null || context.Get(_tasks) is not null || context.Get(_shardSize) is not null || context.Get(_shard) is not null)
        {
            return CommandSupport.Usage(context, "worker: --serve takes its tasks from stdin: give no --task, --tasks, --shard-size or --shard");
        }

        return await WithPlanStoreAsync(
            context,
            address,
            afterParse: null,
            // A plan of another build, a job this program cannot define, a request of another protocol: usage errors,
            // which the driver does not try again.
            ex => CommandSupport.IsJobDefinitionError(ex) || ex is InvalidDataException or ArgumentException,
            async (store, runId) =>
            {
                var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
                using var requests = new StreamReader(Console.OpenStandardInput(), utf8);
                // Synchronized, as Console.Out is: a console stream has no asynchronous writes of its own, and one line at
                // a time need not go through the thread pool.
                using var reports = TextWriter.Synchronized(new StreamWriter(Console.OpenStandardOutput(), utf8));

                // Stdout is the protocol's: what an operator writes to the console (a partial line would swallow the
                // next report) goes to stderr, with the worker's other messages.
                Console.SetOut(Console.Error);
                var served = await TaskWorker.ServeAsync(
                    store, runId, plan => run.DefineJobFromArguments(plan, []).Job, requests, reports,
                    telemetry.LoggerFactory.CreateLogger("Dataflow.Worker"), cancellationToken).ConfigureAwait(false);
                return served ? ExitCodes.Success : CommandSupport.Usage(context, $"worker: there is no plan at '{address}'");
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Parses the plan's address (then runs <paramref name="afterParse"/>, which may refuse the other options) and runs
    /// <paramref name="use"/> on the plan's store with the run's id; a malformed address or option is a usage error.
    /// </summary>
    private async Task<int> WithPlanStoreAsync(
        RunContext context, string address, Action? afterParse, Func<Exception, bool> isUsage, Func<Dataflow.Storage.IObjectStore, string, Task<int>> use, CancellationToken cancellationToken)
    {
        string location;
        string runId;
        try
        {
            (location, runId) = PlanAddress.Parse(address);
            afterParse?.Invoke();
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            return CommandSupport.Usage(context, $"worker: {ex.Message}");
        }

        return await CommandSupport.WithStoreAsync(app, context, location, "worker: ", isUsage, store => use(store, runId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The task range from <c>--task</c>, <c>--tasks</c>, <c>--shard-size</c> with <c>--shard</c>, or
    /// <c>$JOB_COMPLETION_INDEX</c> (a task index, or a shard index with <c>--shard-size</c>). A shard's range may run
    /// past the stage's end; the caller cuts it.
    /// </summary>
    /// <exception cref="FormatException">None given, two given, or not an index or range.</exception>
    private static (int First, int Last) SelectTasks(string? task, string? tasks, int? shardSize, int? shard)
    {
        if (shardSize is { } size)
        {
            if (task is not null || tasks is not null)
            {
                throw new FormatException("give --shard-size (with --shard) or --task or --tasks, not several");
            }

            var number = shard ?? (Environment.GetEnvironmentVariable(WorkerEnvironment.CompletionIndex) is { Length: > 0 } text
                ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : throw new FormatException($"${WorkerEnvironment.CompletionIndex} is '{text}', not a shard index")
                : throw new FormatException($"--shard-size needs --shard <i> or ${WorkerEnvironment.CompletionIndex}"));
            var first = (long)number * size;
            return first > int.MaxValue
                ? throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"shard {number} of {size} tasks starts past the largest task index"))
                : ((int)first, (int)Math.Min(int.MaxValue, first + size - 1));
        }

        if (shard is not null)
        {
            throw new FormatException("--shard needs --shard-size");
        }

        if (task is not null && tasks is not null)
        {
            throw new FormatException("give --task or --tasks, not both");
        }

        if (task is not null)
        {
            var (first, last) = TaskWorker.ParseRange(task);
            return first == last ? (first, last) : throw new FormatException($"--task takes one index; use --tasks for the range '{task}'");
        }

        if (tasks is not null)
        {
            return TaskWorker.ParseRange(tasks);
        }

        if (Environment.GetEnvironmentVariable(WorkerEnvironment.CompletionIndex) is { Length: > 0 } index)
        {
            var (first, last) = TaskWorker.ParseRange(index);
            return first == last ? (first, last) : throw new FormatException($"${WorkerEnvironment.CompletionIndex} is '{index}', not a task index");
        }

        throw new FormatException($"give --task <i>, --tasks <a-b>, or set ${WorkerEnvironment.CompletionIndex}");
    }
}
