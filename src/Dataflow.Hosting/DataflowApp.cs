using System.CommandLine;
using System.Runtime.InteropServices;
using Dataflow.Core;
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
public sealed class DataflowApp
{
    private readonly AppDefinition _app;

    /// <summary>Creates the host of one program.</summary>
    /// <param name="name">The program's name, which starts its messages.</param>
    /// <param name="description">One or two sentences for <c>--help</c>.</param>
    /// <param name="defaultInput">The default of <c>--input</c>.</param>
    /// <param name="defaultOutput">The default of <c>--output</c>.</param>
    public DataflowApp(string name, string description, string defaultInput = "input/", string defaultOutput = "output/result")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(description);
        _app = new AppDefinition(name, description, defaultInput, defaultOutput);
    }

    /// <summary>The host of a program defined elsewhere, e.g. one that runs its jobs from code (<see cref="DataflowCommands"/>).</summary>
    internal DataflowApp(AppDefinition app) => _app = app;

    /// <summary>The program's name; once it is a job of a <see cref="DataflowProgram"/>, <c>&lt;program&gt; &lt;job&gt;</c>, as its messages start.</summary>
    public string Name => _app.Name;

    /// <summary>The program's description.</summary>
    public string Description => _app.Description;

    /// <summary>
    /// The command that starts this program for <c>--executor process</c> (the executor appends
    /// <c>worker --plan … --stage … --task …</c>). Default: the current program again
    /// (<see cref="ProcessExecutorOptions.CurrentProgram"/>); set it when the program is hosted in another process, e.g. a test host.
    /// </summary>
    public IReadOnlyList<string>? WorkerCommand
    {
        get => _app.WorkerCommand;
        set => _app.WorkerCommand = value;
    }

    /// <summary>Adds an option of the program's own.</summary>
    /// <param name="name">Its name, starting with <c>--</c>.</param>
    /// <param name="description">What it does.</param>
    /// <param name="defaultValue">Its value when not given.</param>
    /// <param name="valueName">How <c>--help</c> names its value, e.g. <c>N</c> or <c>SIZE</c>; a <see cref="long"/> option whose value is a <c>SIZE</c> shows its default in binary units (<c>64MiB</c>).</param>
    /// <param name="parse">Parses the value's text; throw <see cref="FormatException"/> to refuse it. Default: the type's own parsing (for whole numbers, with an error that names the option).</param>
    /// <param name="validate">Returns why a value is refused, or <see langword="null"/> to accept it.</param>
    public AppOption<T> AddOption<T>(string name, string description, T defaultValue, string? valueName = null, Func<string, T>? parse = null, Func<T, string?>? validate = null)
    {
        var option = new AppOption<T>(name, description, defaultValue, valueName, parse, validate);
        if (_app.RunOptions().Any(o => o.Name == name))
        {
            throw new ArgumentException($"option {name} is already defined", nameof(name));
        }

        _app.Options.Add(option);
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
        _app.Commands.Add(new ProgramCommand(name, description, [.. options], handler));
        return this;
    }

    /// <summary>Sets how the job is built from the options. Throw <see cref="JobDefinitionException"/> for options that do not make a job.</summary>
    public DataflowApp DefineJob(Func<RunContext, Job> defineJob)
    {
        _app.DefineJob = defineJob ?? throw new ArgumentNullException(nameof(defineJob));
        return this;
    }

    /// <summary>Sets a step that runs after the store is open and before the job runs, e.g. to create inputs.</summary>
    public DataflowApp BeforeRun(Func<RunContext, CancellationToken, Task> beforeRun)
    {
        _app.BeforeRun = beforeRun ?? throw new ArgumentNullException(nameof(beforeRun));
        return this;
    }

    /// <summary>Sets a check of the output after a successful run. Without one, a successful run exits 0 with <c>verified: false</c>.</summary>
    public DataflowApp Verify(Func<RunContext, RunResult, CancellationToken, Task<Verification>> verify)
    {
        _app.Verify = verify ?? throw new ArgumentNullException(nameof(verify));
        return this;
    }

    /// <summary>Runs the command line on the process's console, with Ctrl+C and SIGTERM cancelling the run.</summary>
    /// <returns>The exit code.</returns>
    public Task<int> RunAsync(string[] args) => RunOnConsoleAsync((console, cancellationToken) => RunAsync(args, console, cancellationToken));

    /// <summary>
    /// Runs <paramref name="run"/> on the process's console, the first Ctrl+C or SIGTERM cancelling it cleanly (a second
    /// one is left to kill the process).
    /// </summary>
    internal static async Task<int> RunOnConsoleAsync(Func<AppConsole, CancellationToken, Task<int>> run)
    {
        using var cancel = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            if (!cancel.IsCancellationRequested)
            {
                context.Cancel = true;
                cancel.Cancel();
            }
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        try
        {
            return await run(AppConsole.System, cancel.Token).ConfigureAwait(false);
        }
        finally
        {
            WriteLoadedAssemblies();
        }
    }

    /// <summary>Makes this program one job of <paramref name="program"/>: <c>&lt;program&gt; &lt;job&gt; …</c>.</summary>
    /// <exception cref="InvalidOperationException">It is a job of a program already.</exception>
    internal void HostIn(string program) => _app.HostIn(program);

    /// <summary>Whether this program is one job of a <see cref="DataflowProgram"/>.</summary>
    internal bool IsHosted => _app.CommandPrefix.Count > 0;

    /// <summary>
    /// With <c>$DATAFLOW_LOADED_ASSEMBLIES</c> naming a file: the assemblies this process loaded, one name a line,
    /// written there as it ends — how to check that a command loads only what it uses (no S3 SDK for a folder store,
    /// no Kubernetes client for a local run).
    /// </summary>
    private static void WriteLoadedAssemblies()
    {
        if (Environment.GetEnvironmentVariable("DATAFLOW_LOADED_ASSEMBLIES") is { Length: > 0 } path)
        {
            try
            {
                File.WriteAllLines(path, AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name ?? "?").Order(StringComparer.Ordinal));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A diagnostic must not change how the program ends.
                Console.Error.WriteLine($"$DATAFLOW_LOADED_ASSEMBLIES: cannot write '{path}': {ex.Message}");
            }
        }
    }

    /// <summary>Runs the command line with the given console and cancellation.</summary>
    /// <returns>The exit code.</returns>
    public async Task<int> RunAsync(string[] args, AppConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        if (_app.DefineJob is null)
        {
            throw new InvalidOperationException($"program '{Name}' defines no job: call DefineJob before RunAsync");
        }

        var run = new RunCommand(_app, console);
        var root = run.CreateRoot();

        // A program that runs its jobs from code defines them from its own arguments: it has no run or plan command.
        if (!_app.ArgumentsFromCode)
        {
            root.Subcommands.Add(run.Create());
        }

        root.Subcommands.Add(new WorkerCommand(_app, console, run).Create());
        root.Subcommands.Add(new PublishCommand(_app, console).Create());
        root.Subcommands.Add(new FinishCommand(_app, console).Create());
        if (!_app.ArgumentsFromCode)
        {
            root.Subcommands.Add(new PlanCommand(_app, run).Create());
        }

        root.Subcommands.Add(new ResumeCommand(_app, console, run).Create());
        root.Subcommands.Add(new RunsCommand(_app, console).Create());
        root.Subcommands.Add(new StatusCommand(_app, console).Create());
        root.Subcommands.Add(new GcCommand(_app, console).Create());
        root.Subcommands.Add(new UiCommand(_app, console, RunAsync).Create());
        foreach (var command in _app.Commands)
        {
            root.Subcommands.Add(command.Create(_app, console));
        }

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            return CommandSupport.Usage(console, Name, $"{parse.Errors[0].Message} (see --help)");
        }

        return await parse.InvokeAsync(
            new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null },
            cancellationToken).ConfigureAwait(false);
    }
}
