using System.Reflection;
using Dataflow.Core;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// The commands a program that runs its own jobs from code (with <see cref="JobRunner"/>) shares with every Dataflow
/// program: <c>worker</c>, what its worker processes (<see cref="Executor.WorkerProcesses()"/>) and pods run; and
/// <c>resume</c>, <c>runs</c>, <c>status</c>, <c>gc</c>, <c>publish</c> and <c>finish</c>, for its stored runs. One
/// line first in <c>Main</c> makes the program its own worker process, and lets its runs, started from code, be
/// resumed from its command line.
/// </summary>
/// <remarks>
/// A worker, and <c>resume</c>, define the run's job again by calling <c>defineJob</c> with the arguments the run was
/// started with (<see cref="JobRunnerOptions.Arguments"/>, stored with its plan): the program starts its runs with
/// <c>defineJob(arguments)</c> and those same arguments. A program with several jobs says in the arguments which one.
/// </remarks>
/// <example>
/// <code>
/// if (await DataflowCommands.TryRunAsync(args, DefineJob) is { } exitCode)
/// {
///     return exitCode;
/// }
///
/// string[] arguments = ["input/", "output/merged.txt"];
/// var options = new JobRunnerOptions
/// {
///     Arguments = arguments,
///     Executor = Executor.WorkerProcesses(),
/// };
/// await JobRunner.RunInStoreAsync("/data/merge", DefineJob(arguments), options);
/// return 0;
///
/// static Job DefineJob(IReadOnlyList&lt;string&gt; arguments) =>
///     Job.Named("merge").FromPrefix(arguments[0]).ReduceTree(fanIn: 4, new ConcatOperator()).WriteTo(arguments[1]);
/// </code>
/// </example>
public static class DataflowCommands
{
    /// <summary>The commands, each a first argument that <see cref="TryRunAsync(string[], Func{IReadOnlyList{string}, Job})"/> runs.</summary>
    public static IReadOnlyList<string> Names { get; } = ["worker", "resume", "runs", "status", "gc", "publish", "finish", "ui"];

    /// <summary>True when <paramref name="args"/> start with one of <see cref="Names"/>.</summary>
    public static bool IsCommand(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        return args.Count > 0 && Names.Contains(args[0], StringComparer.Ordinal);
    }

    /// <summary>
    /// Runs the command <paramref name="args"/> start with, on the process's console with Ctrl+C and SIGTERM
    /// cancelling it, and returns its exit code (see <see cref="ExitCodes"/>); or returns <see langword="null"/> at
    /// once when they start with none of <see cref="Names"/>: the program goes on with its own work. Messages start
    /// with the entry assembly's name.
    /// </summary>
    /// <param name="args">The program's arguments.</param>
    /// <param name="defineJob">Defines a run's job from the arguments it was started with (<see cref="JobRunnerOptions.Arguments"/>); throw <see cref="JobDefinitionException"/> for arguments that do not make a job.</param>
    /// <returns>The command's exit code, or <see langword="null"/> when <paramref name="args"/> are not a command of these.</returns>
    public static async Task<int?> TryRunAsync(string[] args, Func<IReadOnlyList<string>, Job> defineJob) =>
        IsCommand(args) ? await Create(defineJob, Assembly.GetEntryAssembly()?.GetName().Name ?? "dataflow").RunAsync(args).ConfigureAwait(false) : null;

    /// <summary>
    /// Runs the command <paramref name="args"/> start with on <paramref name="console"/>, or returns
    /// <see langword="null"/> when they start with none of <see cref="Names"/>.
    /// </summary>
    /// <param name="args">The program's arguments.</param>
    /// <param name="defineJob">Defines a run's job from the arguments it was started with (<see cref="JobRunnerOptions.Arguments"/>).</param>
    /// <param name="name">The program's name, which starts its messages.</param>
    /// <param name="console">Where output goes.</param>
    /// <param name="cancellationToken">Cancels the command (a resumed run can be resumed again).</param>
    /// <returns>The command's exit code, or <see langword="null"/> when <paramref name="args"/> are not a command of these.</returns>
    public static async Task<int?> TryRunAsync(string[] args, Func<IReadOnlyList<string>, Job> defineJob, string name, AppConsole console, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(console);
        return IsCommand(args) ? await Create(defineJob, name).RunAsync(args, console, cancellationToken).ConfigureAwait(false) : null;
    }

    private static DataflowApp Create(Func<IReadOnlyList<string>, Job> defineJob, string name)
    {
        ArgumentNullException.ThrowIfNull(defineJob);
        var app = new DataflowApp(new AppDefinition(name, $"{name}: the Dataflow commands of a program that runs its jobs from code.", "input/", "output/result") { ArgumentsFromCode = true });
        return app.DefineJob(context => defineJob(context.CodeArguments
            ?? throw new InvalidOperationException("a job defined from code is defined from the arguments stored with its run")));
    }
}
