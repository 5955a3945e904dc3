using System.CommandLine;
using Dataflow.Core;
using Dataflow.Storage;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// The <c>run</c> command, which is also the root command (what the program does when no command is given): the
/// program's own options and every shared option of a run. Also how a run's stored arguments are parsed again as a
/// <c>run</c> command line, for <c>resume</c> and workers, and how <c>plan</c> takes the options of <c>run</c>.
/// </summary>
internal sealed class RunCommand(AppDefinition app, AppConsole console)
{
    /// <summary>The root command, which runs the job.</summary>
    public RootCommand CreateRoot()
    {
        var root = new RootCommand(app.Description);
        SetUp(root);
        return root;
    }

    /// <summary>The <c>run</c> command.</summary>
    public Command Create()
    {
        var run = new Command("run", "Run the job (what the program does when no command is given).");
        SetUp(run);
        return run;
    }

    /// <summary>Adds the options of <c>run</c> (the program's own first), then <paramref name="more"/>, to <paramref name="command"/>.</summary>
    public Dictionary<AppOption, Option> AddOptions(Command command, params AppOption[] more) =>
        CommandSupport.AddOptions(command, [.. app.RunOptions(), .. more]);

    /// <summary>
    /// The context of a parsed <c>run</c> command line; <paramref name="runId"/> (else <c>--run-id</c>, else a new one)
    /// names the run; <paramref name="codeArguments"/> are a code-defined run's stored arguments.
    /// </summary>
    public RunContext CreateContext(ParseResult parse, Dictionary<AppOption, Option> options, string? runId, IReadOnlyList<string>? codeArguments = null) =>
        new(app.Name, parse, options, console)
        {
            CodeArguments = codeArguments,
            InputPrefix = app.Job.Input.ValueIn(parse, options[app.Job.Input]),
            OutputKey = app.Job.Output.ValueIn(parse, options[app.Job.Output]),
            Concurrency = app.Driver.Concurrency.ValueIn(parse, options[app.Driver.Concurrency]),
            RunId = runId ?? app.Job.RunId.ValueIn(parse, options[app.Job.RunId]) ?? RunIds.New(),
        };

    /// <summary>
    /// Parses a run's stored arguments (<see cref="Plan.Arguments"/>) followed by <paramref name="more"/> as a
    /// <c>run</c> command line, and defines the job from them: how workers and <c>resume</c> get the run's job back.
    /// A program that runs its jobs from code (<see cref="AppDefinition.ArgumentsFromCode"/>) parses only
    /// <paramref name="more"/>, and its job is defined from the stored arguments as they are.
    /// </summary>
    /// <exception cref="JobDefinitionException">The arguments do not parse, or do not define a job.</exception>
    public (RunContext Context, Job Job) DefineJobFromArguments(Plan plan, IEnumerable<string> more)
    {
        if (plan.Arguments is null)
        {
            throw new JobDefinitionException(plan.Job, $"run '{plan.RunId}' was started from code without JobRunnerOptions.Arguments, so its job cannot be defined again here; resume it with JobRunner.ResumeAsync");
        }

        var command = new Command("run");
        var options = AddOptions(command);
        var code = app.ArgumentsFromCode ? plan.Arguments : null;
        var parse = command.Parse(code is null ? [.. plan.Arguments, .. more] : [.. more]);
        if (parse.Errors.Count > 0)
        {
            throw new JobDefinitionException(plan.Job, $"the arguments stored with run '{plan.RunId}' ({string.Join(' ', plan.Arguments)}) do not parse with this program: {parse.Errors[0].Message}");
        }

        var context = CreateContext(parse, options, plan.RunId, code);
        var job = app.DefineJob!(context);
        if (!string.Equals(job.Name, plan.Job, StringComparison.Ordinal))
        {
            throw new JobDefinitionException(job.Name, $"run '{plan.RunId}' is a run of job '{plan.Job}'; this program defines '{job.Name}' from its arguments");
        }

        return (context, job);
    }

    /// <summary>Drives the run of a context from <see cref="CreateContext"/> or <see cref="DefineJobFromArguments"/>; see <see cref="JobDriver.RunAsync"/>.</summary>
    public Task<int> RunAsync(RunContext context, IObjectStore? resumeStore, CancellationToken cancellationToken) =>
        new JobDriver(app).RunAsync(context, resumeStore, cancellationToken);

    private void SetUp(Command command)
    {
        var options = AddOptions(command);
        command.SetAction((parse, cancellationToken) => RunAsync(CreateContext(parse, options, runId: null), resumeStore: null, cancellationToken));
    }
}
