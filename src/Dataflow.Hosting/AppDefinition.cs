using Dataflow.Core;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// What a program defined through <see cref="DataflowApp"/>: its name, its own options and commands, its job and
/// callbacks, and the option groups that the commands share. The commands read it when they run.
/// </summary>
internal sealed class AppDefinition
{
    public AppDefinition(string name, string description, string defaultInput, string defaultOutput)
    {
        Name = name;
        Description = description;
        Job = new JobOptions(defaultInput, defaultOutput);
    }

    /// <summary>
    /// The program's name, which starts its messages and the command lines it prints: the executable's, or for one
    /// job of a program of several (<see cref="DataflowProgram"/>), <c>&lt;program&gt; &lt;job&gt;</c>.
    /// </summary>
    public string Name { get; private set; }

    /// <summary>
    /// The arguments before a command of this program's: none, or for one job of a program of several, the job's
    /// name. Worker processes and pods are started with them, so that they reach this job.
    /// </summary>
    public IReadOnlyList<string> CommandPrefix { get; private set; } = [];

    /// <summary>Makes this program one job of <paramref name="program"/>: <c>&lt;program&gt; &lt;job&gt; …</c>.</summary>
    /// <exception cref="InvalidOperationException">It is a job of a program already.</exception>
    public void HostIn(string program)
    {
        if (CommandPrefix.Count > 0)
        {
            throw new InvalidOperationException($"'{Name}' is a job of a program already");
        }

        CommandPrefix = [Name];
        Cluster.Executable = program;
        Cluster.CommandPrefix = CommandPrefix;
        Name = $"{program} {Name}";
    }

    /// <summary>The program's description, for <c>--help</c>.</summary>
    public string Description { get; }

    /// <summary>The program's own options (<see cref="DataflowApp.AddOption{T}"/>): options of <c>run</c>.</summary>
    public List<AppOption> Options { get; } = [];

    /// <summary>The program's own commands (<see cref="DataflowApp.AddCommand"/>).</summary>
    public List<ProgramCommand> Commands { get; } = [];

    /// <summary>How the job is built from the options; set before the commands run.</summary>
    public Func<RunContext, Job>? DefineJob { get; set; }

    /// <summary>What runs after the store is open and before the job runs (and before <c>plan</c> plans it).</summary>
    public Func<RunContext, CancellationToken, Task>? BeforeRun { get; set; }

    /// <summary>The check of the output after a successful run.</summary>
    public Func<RunContext, RunResult, CancellationToken, Task<Verification>>? Verify { get; set; }

    /// <summary>
    /// True for a program that runs its jobs from code and has only the commands of <see cref="DataflowCommands"/>: a
    /// run's stored arguments are its own (<see cref="JobRunnerOptions.Arguments"/>), handed to its job definition as
    /// they are (<see cref="RunContext.CodeArguments"/>) rather than parsed as options of <c>run</c>.
    /// </summary>
    public bool ArgumentsFromCode { get; init; }

    /// <summary>The command that starts this program for <c>--executor process</c>; <see langword="null"/>: the current program.</summary>
    public IReadOnlyList<string>? WorkerCommand { get; set; }

    /// <summary><c>--store</c> and the S3 options.</summary>
    public StoreOptions Store { get; } = new();

    /// <summary><c>--input</c>, <c>--output</c>, <c>--overwrite</c> and <c>--run-id</c>.</summary>
    public JobOptions Job { get; }

    /// <summary>The options of a driver: executor, GC, concurrency, attempts, timeout, progress, <c>--json</c>, <c>--verbose</c>.</summary>
    public DriverOptions Driver { get; } = new();

    /// <summary>Logging, tracing and metrics.</summary>
    public TelemetryOptions Telemetry { get; } = new();

    /// <summary>The pod options of the Kubernetes and Argo executors and of <c>plan</c>.</summary>
    public ClusterOptions Cluster { get; } = new();

    /// <summary>
    /// The options that a driver passes on, as given, to the processes it starts (worker processes and pods); the
    /// commands those run (<c>worker</c>, <c>publish</c>, <c>finish</c>) have them.
    /// </summary>
    public AppOption[] Forwarded => [Store.S3Profile, Store.S3PartSize, Store.Fsync, Driver.Verbose];

    /// <summary>The options of <c>run</c> (and of <c>plan</c>), in the order of <c>--help</c>: the program's own first.</summary>
    public AppOption[] RunOptions() =>
    [
        .. Options, .. Store.All, Job.Input, Job.Output, Job.Overwrite, Driver.Executor, Driver.Gc, Driver.Cache, Driver.CacheHashInputs, Driver.Concurrency, Driver.Attempts,
        Driver.TaskTimeout, Driver.MaxFailedInputs, Driver.Speculate, Driver.SpeculateAfter, Job.RunId, Driver.Progress, Driver.Json, Driver.Verbose, .. Telemetry.All, .. Cluster.All,
    ];

    /// <summary>
    /// The arguments stored with a run (<see cref="Plan.Arguments"/>): the program's own options as given, and the
    /// input and output, from which <c>resume</c> and workers define the same job again.
    /// </summary>
    public List<string> StoredArguments(RunContext context) =>
        context.CodeArguments is { } code ? [.. code]
        : [.. context.GivenArguments(Options), Job.Input.Name, context.InputPrefix, Job.Output.Name, context.OutputKey];
}
