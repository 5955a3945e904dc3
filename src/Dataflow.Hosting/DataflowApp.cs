using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Dataflow.Core;
using Dataflow.Storage;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// The command line every Dataflow program shares. A program names itself, adds its own options, defines its job
/// from them, and optionally prepares inputs and verifies the output; the host does the rest — parsing and
/// <c>--help</c>, the store, the run with progress, the summary (<c>--json</c>), Ctrl+C, and exit codes
/// (see <see cref="ExitCodes"/>).
/// </summary>
/// <example>
/// <code>
/// var app = new DataflowApp("merge-files", "Merges objects in a reduce tree.", defaultOutput: "output/merged.txt");
/// var fanIn = app.AddOption("--fan-in", "Objects per task.", 2);
/// app.DefineJob(ctx => Job.Named("merge-files").FromPrefix(ctx.InputPrefix)
///     .ReduceTree(ctx.Get(fanIn), new ConcatOperator()).WriteTo(ctx.OutputKey));
/// return await app.RunAsync(args);
/// </code>
/// </example>
public sealed partial class DataflowApp
{
    private readonly List<AppOption> _programOptions = [];
    private readonly AppOption<string?> _store;
    private readonly AppOption<string> _input;
    private readonly AppOption<string> _output;
    private readonly AppOption<bool> _overwrite;
    private readonly AppOption<GcMode> _gc;
    private readonly AppOption<int> _concurrency;
    private readonly AppOption<int> _attempts;
    private readonly AppOption<TimeSpan> _taskTimeout;
    private readonly AppOption<string?> _runId;
    private readonly AppOption<ProgressMode> _progress;
    private readonly AppOption<bool> _json;
    private readonly AppOption<bool> _verbose;
    private readonly AppOption<S3Compatibility?> _s3Profile;
    private readonly AppOption<long> _s3PartSize;
    private readonly AppOption<ExecutorKind> _executor;
    private readonly List<(string Name, string Description, AppOption[] Options, Func<RunContext, CancellationToken, Task<int>> Handler)> _commands = [];
    private Func<RunContext, Job>? _defineJob;
    private Func<RunContext, CancellationToken, Task>? _beforeRun;
    private Func<RunContext, RunResult, CancellationToken, Task<Verification>>? _verify;

    /// <summary>Creates the host of one program.</summary>
    /// <param name="name">The program's name, which starts its messages.</param>
    /// <param name="description">One or two sentences for <c>--help</c>.</param>
    /// <param name="defaultInput">The default of <c>--input</c>.</param>
    /// <param name="defaultOutput">The default of <c>--output</c>.</param>
    public DataflowApp(string name, string description, string defaultInput = "input/", string defaultOutput = "output/result")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(description);
        Name = name;
        Description = description;
        _store = new AppOption<string?>("--store", "The object store: a folder path, file:// URI, s3://bucket/prefix or oss://bucket/prefix (endpoint, region and credentials from the AWS_* variables; the bucket is created if missing). Default: a new folder under the system's temporary folder, printed at the start.", null, "FOLDER|URI", null, null);
        _s3Profile = new AppOption<S3Compatibility?>("--s3-profile", "For s3:// and oss:// stores, what the service accepts: generic (any S3-compatible server; the default with an endpoint), aws, minio or oss (the default for oss://).", null, "generic|aws|minio|oss", text => ParseEnum<S3Compatibility>(text), null);
        _s3PartSize = new AppOption<long>("--s3-part-size", "For S3 stores, the size of multipart upload parts (objects up to it go in one PUT), 5MiB to 1GiB.", 16L << 20, "SIZE", ByteSize.Parse, v => v is >= 5L << 20 and <= 1L << 30 ? null : "must be between 5MiB and 1GiB");
        _input = new AppOption<string>("--input", "The key prefix of the input objects.", defaultInput, "PREFIX", null, null);
        _output = new AppOption<string>("--output", "The key of the final output; an existing output is an error unless --overwrite.", defaultOutput, "KEY", null, null);
        _overwrite = new AppOption<bool>("--overwrite", "Replace the output if it already exists.", false, null, null, null);
        _gc = new AppOption<GcMode>("--gc", "When intermediate artifacts are deleted: eager (as soon as nothing needs them), end (when the run ends) or never (keep them for debugging).", GcMode.Eager, "eager|end|never", ParseEnum<GcMode>, null);
        _concurrency = new AppOption<int>("--concurrency", "Tasks running at once.", Environment.ProcessorCount, "N", null, v => v is >= 1 and <= 4096 ? null : "must be between 1 and 4096");
        _attempts = new AppOption<int>("--attempts", "Attempts per task before the run fails.", 3, "N", null, v => v is >= 1 and <= 100 ? null : "must be between 1 and 100");
        _taskTimeout = new AppOption<TimeSpan>("--task-timeout", "How long one attempt of a task may run: e.g. 90s, 10m, 1h, or infinite.", TimeSpan.FromMinutes(30), "DURATION", Duration.Parse, null);
        _runId = new AppOption<string?>("--run-id", "The run's id (letters, digits, '-', '_'). Default: a new one from the time.", null, "ID", null, v => v is null || RunIds.IsValid(v) ? null : "use 1 to 64 ASCII letters, digits, '-' or '_'");
        _progress = new AppOption<ProgressMode>("--progress", "Progress on stderr: auto (bars on a terminal, lines otherwise), bars, lines or none.", ProgressMode.Auto, "auto|bars|lines|none", ParseEnum<ProgressMode>, null);
        _json = new AppOption<bool>("--json", "Print the run summary as one JSON object on stdout.", false, null, null, null);
        _verbose = new AppOption<bool>("--verbose", "On errors, print the full exception.", false, null, null, null);
        _executor = new AppOption<ExecutorKind>("--executor", "Where tasks run: local (in this process), process (each task in a worker process of this program, started as 'worker --plan <uri> --stage <s> --task <i>', as a pod runs it), kubernetes (an Indexed Job per stage; needs --image) or argo (one Argo Workflow; needs --image).", ExecutorKind.Local, "local|process|kubernetes|argo", ParseEnum<ExecutorKind>, null);
    }

    /// <summary>The program's name.</summary>
    public string Name { get; }

    /// <summary>The program's description.</summary>
    public string Description { get; }

    /// <summary>
    /// The command that starts this program for <c>--executor process</c> (the executor appends
    /// <c>worker --plan … --stage … --task …</c>). Default: the current program again
    /// (<see cref="ProcessExecutorOptions.CurrentProgram"/>); set it when the program is hosted in another process, e.g. a test host.
    /// </summary>
    public IReadOnlyList<string>? WorkerCommand { get; set; }

    /// <summary>Adds an option of the program's own.</summary>
    /// <param name="name">Its name, starting with <c>--</c>.</param>
    /// <param name="description">What it does.</param>
    /// <param name="defaultValue">Its value when not given.</param>
    /// <param name="valueName">How <c>--help</c> names its value, e.g. <c>N</c> or <c>SIZE</c>.</param>
    /// <param name="parse">Parses the value's text; throw <see cref="FormatException"/> to refuse it. Default: the type's own parsing.</param>
    /// <param name="validate">Returns why a value is refused, or <see langword="null"/> to accept it.</param>
    public AppOption<T> AddOption<T>(string name, string description, T defaultValue, string? valueName = null, Func<string, T>? parse = null, Func<T, string?>? validate = null)
    {
        var option = new AppOption<T>(name, description, defaultValue, valueName, parse, validate);
        if (AllOptions().Any(o => o.Name == name))
        {
            throw new ArgumentException($"option {name} is already defined", nameof(name));
        }

        _programOptions.Add(option);
        return option;
    }

    /// <summary>Creates an option for a command of <see cref="AddCommand"/>, without adding it to <c>run</c>.</summary>
    public static AppOption<T> CommandOption<T>(string name, string description, T defaultValue, string? valueName = null, Func<string, T>? parse = null, Func<T, string?>? validate = null) =>
        new(name, description, defaultValue, valueName, parse, validate);

    /// <summary>
    /// Adds a command of the program's own, e.g. <c>generate</c>. It gets <c>--store</c> (required), the S3 options,
    /// <c>--input</c>, <c>--concurrency</c> and <paramref name="options"/>; the handler sees the open store and returns the exit code.
    /// </summary>
    public DataflowApp AddCommand(string name, string description, IReadOnlyList<AppOption> options, Func<RunContext, CancellationToken, Task<int>> handler)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        _commands.Add((name, description, [.. options], handler));
        return this;
    }

    /// <summary>Sets how the job is built from the options. Throw <see cref="JobDefinitionException"/> for options that do not make a job.</summary>
    public DataflowApp DefineJob(Func<RunContext, Job> defineJob)
    {
        _defineJob = defineJob ?? throw new ArgumentNullException(nameof(defineJob));
        return this;
    }

    /// <summary>Sets a step that runs after the store is open and before the job runs, e.g. to create inputs.</summary>
    public DataflowApp BeforeRun(Func<RunContext, CancellationToken, Task> beforeRun)
    {
        _beforeRun = beforeRun ?? throw new ArgumentNullException(nameof(beforeRun));
        return this;
    }

    /// <summary>Sets a check of the output after a successful run. Without one, a successful run exits 0 with <c>verified: false</c>.</summary>
    public DataflowApp Verify(Func<RunContext, RunResult, CancellationToken, Task<Verification>> verify)
    {
        _verify = verify ?? throw new ArgumentNullException(nameof(verify));
        return this;
    }

    /// <summary>Runs the command line on the process's console, with Ctrl+C and SIGTERM cancelling the run.</summary>
    /// <returns>The exit code.</returns>
    public async Task<int> RunAsync(string[] args)
    {
        using var cancel = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            // The first signal cancels the run cleanly; a second one is left to kill the process.
            if (!cancel.IsCancellationRequested)
            {
                context.Cancel = true;
                cancel.Cancel();
            }
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        return await RunAsync(args, AppConsole.System, cancel.Token).ConfigureAwait(false);
    }

    /// <summary>Runs the command line with the given console and cancellation.</summary>
    /// <returns>The exit code.</returns>
    public async Task<int> RunAsync(string[] args, AppConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        if (_defineJob is null)
        {
            throw new InvalidOperationException($"program '{Name}' defines no job: call DefineJob before RunAsync");
        }

        var root = new RootCommand(Description);
        AddRunCommand(root, console);
        var run = new Command("run", "Run the job (what the program does when no command is given).");
        AddRunCommand(run, console);
        root.Subcommands.Add(run);
        root.Subcommands.Add(CreateWorkerCommand(console));
        root.Subcommands.Add(CreatePublishCommand(console));
        root.Subcommands.Add(CreateFinishCommand(console));
        root.Subcommands.Add(CreatePlanCommand(console));
        root.Subcommands.Add(CreateResumeCommand(console));
        root.Subcommands.Add(CreateRunsCommand(console));
        root.Subcommands.Add(CreateStatusCommand(console));
        root.Subcommands.Add(CreateGcCommand(console));
        foreach (var command in _commands)
        {
            root.Subcommands.Add(CreateProgramCommand(command.Name, command.Description, command.Options, command.Handler, console));
        }

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            return Usage(console, $"{parse.Errors[0].Message} (see --help)");
        }

        return await parse.InvokeAsync(
            new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null },
            cancellationToken).ConfigureAwait(false);
    }

    private IEnumerable<AppOption> AllOptions() =>
        new AppOption[] { _store, _s3Profile, _s3PartSize, _input, _output, _overwrite, _executor, _gc, _concurrency, _attempts, _taskTimeout, _runId, _progress, _json, _verbose }.Concat(TelemetryOptions()).Concat(ClusterOptions()).Concat(_programOptions);

    private void AddRunCommand(Command command, AppConsole console)
    {
        var options = AddJobOptions(command);
        command.SetAction((parse, token) => RunCommandAsync(CreateJobContext(parse, options, console, runId: null), resumeStore: null, token));
    }

    /// <summary>Adds the options of <c>run</c> (the program's own first) to <paramref name="command"/>.</summary>
    private Dictionary<AppOption, Option> AddJobOptions(Command command) =>
        AddOptions(command, _programOptions.Concat(AllOptions().Except(_programOptions)));

    private RunContext CreateJobContext(ParseResult parse, Dictionary<AppOption, Option> options, AppConsole console, string? runId) =>
        new(Name, parse, options, console)
        {
            InputPrefix = parse.GetValue((Option<string>)options[_input])!,
            OutputKey = parse.GetValue((Option<string>)options[_output])!,
            Concurrency = parse.GetValue((Option<int>)options[_concurrency]),
            RunId = runId ?? parse.GetValue((Option<string?>)options[_runId]) ?? RunIds.New(),
        };

    /// <summary>
    /// Parses a run's stored arguments (<see cref="Plan.Arguments"/>) followed by <paramref name="more"/> as a
    /// <c>run</c> command line, and defines the job from them: how workers and <c>resume</c> get the run's job back.
    /// </summary>
    /// <exception cref="JobDefinitionException">The arguments do not parse, or do not define a job.</exception>
    private (RunContext Context, Job Job) DefineJobFromArguments(Plan plan, IEnumerable<string> more, AppConsole console)
    {
        if (plan.Arguments is null)
        {
            throw new JobDefinitionException(plan.Job, $"run '{plan.RunId}' was started from code, not from this program's command line, so its job cannot be defined again here; resume it with JobRunner.ResumeAsync");
        }

        var command = new Command("run");
        var options = AddJobOptions(command);
        var parse = command.Parse([.. plan.Arguments, .. more]);
        if (parse.Errors.Count > 0)
        {
            throw new JobDefinitionException(plan.Job, $"the arguments stored with run '{plan.RunId}' ({string.Join(' ', plan.Arguments)}) do not parse with this program: {parse.Errors[0].Message}");
        }

        var context = CreateJobContext(parse, options, console, plan.RunId);
        var job = _defineJob!(context);
        if (!string.Equals(job.Name, plan.Job, StringComparison.Ordinal))
        {
            throw new JobDefinitionException(job.Name, $"run '{plan.RunId}' is a run of job '{plan.Job}'; this program defines '{job.Name}' from its arguments");
        }

        return (context, job);
    }

    private async Task<int> RunCommandAsync(RunContext context, IObjectStore? resumeStore, CancellationToken cancellationToken)
    {
        var console = context.Console;
        var verbose = context.Get(_verbose);
        var resuming = resumeStore is not null;
        Job job;
        try
        {
            job = _defineJob!(context);
        }
        catch (Exception ex) when (ex is JobDefinitionException or InvalidObjectKeyException)
        {
            return Usage(console, ex.Message);
        }

        using var telemetry = StartTelemetry(context);
        JobRunnerOptions options;
        try
        {
            options = new JobRunnerOptions
            {
                LoggerFactory = telemetry.LoggerFactory,
                Concurrency = context.Concurrency,
                MaxAttempts = context.Get(_attempts),
                TaskTimeout = context.Get(_taskTimeout),
                Gc = context.Get(_gc),
                Overwrite = context.Get(_overwrite),
                RunId = context.RunId,
                Arguments = [.. context.GivenArguments(_programOptions), _input.Name, context.InputPrefix, _output.Name, context.OutputKey],
                Executor = context.Get(_executor) == ExecutorKind.Process
                    ? Executor.WorkerProcesses(new ProcessExecutorOptions
                    {
                        Command = WorkerCommand ?? ProcessExecutorOptions.CurrentProgram(),
                        ExtraArguments = context.GivenArguments([_s3Profile, _s3PartSize, _verbose, .. WorkerTelemetryOptions()]),
                    })
                    : Executor.Local,
            };
        }
        catch (InvalidOperationException ex)
        {
            return Usage(console, $"--executor process: {ex.Message}");
        }

        IObjectStore store;
        var location = context.Get(_store);
        if (resumeStore is not null)
        {
            store = resumeStore;
        }
        else if (location is null)
        {
            store = ObjectStore.OpenFolder(Path.Combine(Path.GetTempPath(), "dataflow", $"{Name}-{context.RunId}"));
        }
        else
        {
            var (opened, exitCode) = await OpenStoreAsync(context, location, context.Get(_s3Profile), context.Get(_s3PartSize), string.Empty, cancellationToken).ConfigureAwait(false);
            if (opened is null)
            {
                return exitCode;
            }

            store = opened;
        }

        try
        {
            context.Store = store;
            if (context.Get(_executor) is ExecutorKind.Kubernetes or ExecutorKind.Argo)
            {
                try
                {
                    options = options with { Executor = CreateClusterExecutor(context, store, context.Get(_executor)) };
                }
                catch (FormatException ex)
                {
                    return Usage(console, ex.Message);
                }
                catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
                {
                    return Usage(console, $"--executor {context.Get(_executor).ToString().ToLowerInvariant()}: {ex.Message}");
                }
            }

            if (!resuming)
            {
                context.Info(location is null ? $"store {store.Location} (a new folder)" : $"store {store.Location}");
            }

            try
            {
                if (!resuming && !options.Overwrite && await JobRunner.FindExistingOutputAsync(store, job, cancellationToken).ConfigureAwait(false) is { } existing)
                {
                    return Usage(console, $"the output '{existing}' already exists in {store.Location}; pass --overwrite to replace it");
                }

                if (!resuming && _beforeRun is not null)
                {
                    await _beforeRun(context, cancellationToken).ConfigureAwait(false);
                }

                return await RunJobAsync(context, job, options, resuming, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is JobDefinitionException or InvalidObjectKeyException)
            {
                return Usage(console, ex.Message);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                context.Info($"cancelled; nothing was published; '{Name} resume {context.RunId} --store {store.Location}' goes on from what committed");
                return ExitCodes.Cancelled;
            }
            catch (RunLeaseException ex)
            {
                context.Info($"error: {ex.Message}");
                return ExitCodes.Failure;
            }
            catch (Exception ex)
            {
                context.Info($"error: {(verbose ? ex.ToString() : ex.Message)}");
                return ExitCodes.Failure;
            }
        }
        finally
        {
            // A resumed run's store belongs to the resume command.
            if (!resuming)
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<int> RunJobAsync(RunContext context, Job job, JobRunnerOptions options, bool resuming, CancellationToken cancellationToken)
    {
        var runner = new JobRunner(context.Store, options);
        var progress = new RunProgress();
        RunResult result;
        try
        {
            var display = ProgressDisplay.Start(progress, context.Get(_progress), context.Console.Error, context.Console.ErrorIsTerminal, Name);
            await using (display.ConfigureAwait(false))
            {
                result = resuming
                    ? await runner.ResumeAsync(job, context.RunId, progress, cancellationToken).ConfigureAwait(false)
                    : await runner.RunAsync(job, progress, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (JobFailedException ex)
        {
            context.Info($"error: {(context.Get(_verbose) ? ex.InnerException?.ToString() : ex.Message)}");
            Report(context, ex.Summary, verification: null, await ReportUriAsync(runner, ex.Summary.RunId, CancellationToken.None).ConfigureAwait(false));
            context.Info($"what committed is kept: '{Name} resume {ex.Summary.RunId} --store {context.Store.Location}' runs the rest, '{Name} gc {ex.Summary.RunId} --store {context.Store.Location}' deletes it");
            return ExitCodes.Failure;
        }

        var verification = _verify is null ? null : await _verify(context, result, cancellationToken).ConfigureAwait(false);
        var summary = result.Summary with { Verified = verification?.Verified ?? false };
        await runner.WriteSummaryAsync(summary, cancellationToken).ConfigureAwait(false);
        Report(context, summary, verification, await ReportUriAsync(runner, summary.RunId, cancellationToken).ConfigureAwait(false));
        return verification is { Verified: false } ? ExitCodes.Failure : ExitCodes.Success;
    }

    private static async Task<string?> ReportUriAsync(JobRunner runner, string runId, CancellationToken cancellationToken) =>
        await runner.ReportExistsAsync(runId, cancellationToken).ConfigureAwait(false) ? runner.GetReportUri(runId) : null;

    private void Report(RunContext context, RunSummary summary, Verification? verification, string? reportUri)
    {
        var i = CultureInfo.InvariantCulture;
        context.Info(string.Create(i, $"run {summary.RunId} {summary.Status} in {summary.WallMs} ms: {summary.Tasks} tasks in {summary.Stages} stages ({summary.TasksRun} run, {summary.TasksSkipped} skipped, {summary.Attempts} attempts, {summary.Retries} retries, {summary.Failed} failed); read {ByteSize.Format(summary.BytesRead)}, wrote {ByteSize.Format(summary.BytesWritten)}"));
        if (summary.Output is not null)
        {
            context.Info($"output {summary.Output}");
        }

        if (verification is not null)
        {
            context.Info(verification.Verified ? $"verified: {verification.Detail}" : $"NOT verified: {verification.Detail}");
        }

        context.Info(string.Create(i, $"intermediate objects left: {summary.IntermediateObjectsLeft}; run records under {RunIds.RecordsPrefix(summary.RunId)}"));
        if (reportUri is not null)
        {
            context.Info($"report {reportUri}");
        }

        if (context.Get(_json))
        {
            context.Console.Out.WriteLine(summary.ToJson());
        }
    }

    internal static ObjectStoreOptions StoreOptions(S3Compatibility? profile, long partSize) => new()
    {
        S3 = new S3StoreOptions { Profile = profile, PartSize = partSize, CreateBucketIfMissing = true },
    };

    private Command CreateProgramCommand(string name, string description, AppOption[] own, Func<RunContext, CancellationToken, Task<int>> handler, AppConsole console) =>
        CreateStoreCommand(name, description, [.. own, _store, _s3Profile, _s3PartSize, _input, _concurrency, _verbose], null, (context, _, cancellationToken) => handler(context, cancellationToken), console);

    /// <summary>Creates the options of <paramref name="own"/> on <paramref name="command"/>.</summary>
    private static Dictionary<AppOption, Option> AddOptions(Command command, IEnumerable<AppOption> own)
    {
        var options = new Dictionary<AppOption, Option>();
        foreach (var option in own)
        {
            var created = option.CreateOption();
            options[option] = created;
            command.Options.Add(created);
        }

        return options;
    }

    /// <summary>Opens the store at <paramref name="location"/>; on failure writes why (prefixed with <paramref name="prefix"/>) and gives the exit code.</summary>
    private async Task<(IObjectStore? Store, int ExitCode)> OpenStoreAsync(RunContext context, string location, S3Compatibility? profile, long partSize, string prefix, CancellationToken cancellationToken)
    {
        try
        {
            return (await ObjectStore.OpenAsync(location, StoreOptions(profile, partSize), cancellationToken).ConfigureAwait(false), ExitCodes.Success);
        }
        catch (ArgumentException ex)
        {
            return (null, Usage(context.Console, prefix + ex.Message));
        }
        catch (ObjectStoreException ex)
        {
            context.Info($"{prefix}error: {ex.Message}");
            return (null, ExitCodes.Failure);
        }
    }

    private int Usage(AppConsole console, string message)
    {
        console.Error.WriteLine($"{Name}: {message.ReplaceLineEndings(" ")}");
        return ExitCodes.Usage;
    }

    internal static T ParseEnum<T>(string text)
        where T : struct, Enum =>
        Enum.TryParse<T>(text, ignoreCase: true, out var value) && Enum.IsDefined(value) && !int.TryParse(text, CultureInfo.InvariantCulture, out _)
            ? value
            : throw new FormatException($"'{text}' is not one of: {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}");
}
