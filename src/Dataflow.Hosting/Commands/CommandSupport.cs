using System.CommandLine;
using Dataflow.Core;
using Dataflow.Storage;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// The plumbing the commands share: creating their options, usage errors, opening a store, and turning what a
/// command throws into its message and exit code (see <see cref="ExitCodes"/>).
/// </summary>
internal static class CommandSupport
{
    /// <summary>Creates the options of <paramref name="own"/> on <paramref name="command"/>.</summary>
    public static Dictionary<AppOption, Option> AddOptions(Command command, IEnumerable<AppOption> own)
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

    /// <summary>The run-id argument of a command that works on one run.</summary>
    public static Argument<string?> RunIdArgument(string description, bool required) =>
        new("run-id")
        {
            Description = description,
            Arity = required ? ArgumentArity.ExactlyOne : ArgumentArity.ZeroOrOne,
            HelpName = "RUN-ID",
        };

    /// <summary>The <c>--plan</c> option of the steps a driver takes itself (<c>publish</c>, <c>finish</c>).</summary>
    public static AppOption<string?> PlanOption() =>
        new("--plan", "The address of the run's plan: <store>/_dataflow/runs/<run-id>/plan.json. The store and run are found from it.", null, "URI", null, null);

    /// <summary>The <c>--workflow</c> option of the steps an Argo Workflow runs itself.</summary>
    public static AppOption<string?> WorkflowOption() =>
        new("--workflow", "The Argo Workflow this step belongs to ({{workflow.name}}): the step joins the run's lease when the driver that follows the workflow holds it for it.", null, "NAME", null, null);

    /// <summary>Whether <paramref name="exception"/> says that the options do not make a job: a usage error.</summary>
    public static bool IsJobDefinitionError(Exception exception) => exception is JobDefinitionException or InvalidObjectKeyException;

    /// <summary>Writes a usage error on one line of stderr, prefixed with the program's name.</summary>
    /// <returns><see cref="ExitCodes.Usage"/>.</returns>
    public static int Usage(AppConsole console, string program, string message)
    {
        console.Error.WriteLine($"{program}: {message.ReplaceLineEndings(" ")}");
        return ExitCodes.Usage;
    }

    /// <inheritdoc cref="Usage(AppConsole, string, string)"/>
    public static int Usage(RunContext context, string message) => Usage(context.Console, context.ProgramName, message);

    /// <summary>
    /// Opens the store at <paramref name="location"/> with the command's S3 options (defaults for those it lacks); on
    /// failure writes why (prefixed with <paramref name="prefix"/>) and gives the exit code.
    /// </summary>
    public static async Task<(IObjectStore? Store, int ExitCode)> OpenStoreAsync(AppDefinition app, RunContext context, string location, string prefix, CancellationToken cancellationToken)
    {
        var s3 = app.Store;
        S3Compatibility? profile = context.Has(s3.S3Profile) ? context.Get(s3.S3Profile) : null;
        var partSize = context.Has(s3.S3PartSize) ? context.Get(s3.S3PartSize) : StoreOptions.DefaultPartSize;
        try
        {
            var options = StoreOptions.ToObjectStoreOptions(profile, partSize, s3.FolderOptions(context), context.StoreLog);
            return (await ObjectStore.OpenAsync(location, options, cancellationToken).ConfigureAwait(false), ExitCodes.Success);
        }
        catch (ArgumentException ex)
        {
            return (null, Usage(context, prefix + ex.Message));
        }
        catch (ObjectStoreException ex)
        {
            context.Info($"{prefix}error: {ex.Message}");
            return (null, ExitCodes.Failure);
        }
    }

    /// <summary>
    /// Opens the store at <paramref name="location"/>, runs <paramref name="use"/> on it and closes it. What
    /// <paramref name="use"/> throws becomes a message prefixed with <paramref name="prefix"/> and an exit code: a
    /// usage error for the exceptions <paramref name="isUsage"/> picks, 130 when cancelled, else a failure.
    /// </summary>
    public static async Task<int> WithStoreAsync(
        AppDefinition app, RunContext context, string location, string prefix, Func<Exception, bool> isUsage, Func<IObjectStore, Task<int>> use, CancellationToken cancellationToken)
    {
        var (store, exitCode) = await OpenStoreAsync(app, context, location, prefix, cancellationToken).ConfigureAwait(false);
        if (store is null)
        {
            return exitCode;
        }

        await using (store.ConfigureAwait(false))
        {
            try
            {
                return await use(store).ConfigureAwait(false);
            }
            catch (Exception ex) when (isUsage(ex))
            {
                return Usage(context, prefix + ex.Message);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                context.Info($"{prefix}cancelled");
                return ExitCodes.Cancelled;
            }
            catch (Exception ex)
            {
                context.Info($"{prefix}error: {(context.Get(app.Driver.Verbose) ? ex.ToString() : ex.Message)}");
                return ExitCodes.Failure;
            }
        }
    }

    /// <summary>
    /// A command that works on a store given with <c>--store</c> (required): parses, opens the store, runs the
    /// handler with the run-id argument's value (if it has one), and turns errors into exit codes. A command that
    /// only reads an existing store (<paramref name="existing"/>) refuses a folder that does not exist rather than
    /// creating it.
    /// </summary>
    public static Command CreateStoreCommand(
        AppDefinition app, AppConsole console, string name, string description, IEnumerable<AppOption> own, Argument<string?>? runId, Func<RunContext, string?, CancellationToken, Task<int>> handler, bool existing = false)
    {
        var command = new Command(name, description);
        if (runId is not null)
        {
            command.Arguments.Add(runId);
        }

        var options = AddOptions(command, own);
        command.SetAction((parse, cancellationToken) =>
        {
            var input = app.Job.Input;
            var concurrency = app.Driver.Concurrency;
            var context = new RunContext(app.Name, parse, options, console)
            {
                InputPrefix = options.TryGetValue(input, out var inputOption) ? input.ValueIn(parse, inputOption) : string.Empty,
                Concurrency = options.TryGetValue(concurrency, out var concurrencyOption) ? concurrency.ValueIn(parse, concurrencyOption) : Environment.ProcessorCount,
            };
            var id = runId is null ? null : parse.GetValue(runId);
            if (id is not null && !RunIds.IsValid(id))
            {
                return Task.FromResult(Usage(context, $"'{id}' is not a run id"));
            }

            if (context.Get(app.Store.Store) is not { } location)
            {
                return Task.FromResult(Usage(context, $"{name} needs --store"));
            }

            if (existing && MissingFolder(location) is { } missing)
            {
                return Task.FromResult(Usage(context, $"{name}: there is no store at '{missing}' (no such folder)"));
            }

            return WithStoreAsync(app, context, location, string.Empty, IsJobDefinitionError, store =>
            {
                context.Store = store;
                return handler(context, id, cancellationToken);
            },
            cancellationToken);
        });
        return command;
    }

    /// <summary>The folder of a folder store's <paramref name="location"/> when that folder does not exist; <see langword="null"/> otherwise.</summary>
    private static string? MissingFolder(string location)
    {
        string path;
        if (Uri.TryCreate(location, UriKind.Absolute, out var uri) && uri.Scheme != Uri.UriSchemeFile)
        {
            return null;
        }

        path = uri is not null ? uri.LocalPath : Path.GetFullPath(location);
        return Directory.Exists(path) ? null : path;
    }

    /// <summary>
    /// Opens the store that the address in <paramref name="plan"/> names and runs <paramref name="step"/> on it with
    /// the run's id: what <c>publish</c> and <c>finish</c> do; messages start with <paramref name="name"/>.
    /// </summary>
    public static async Task<int> WithPlanStoreAsync(
        AppDefinition app, RunContext context, AppOption<string?> plan, string name, Func<IObjectStore, string, Task<int>> step, CancellationToken cancellationToken)
    {
        if (context.Get(plan) is not { } address)
        {
            return Usage(context, $"{name} needs --plan");
        }

        string location;
        string runId;
        try
        {
            (location, runId) = PlanAddress.Parse(address);
        }
        catch (ArgumentException ex)
        {
            return Usage(context, $"{name}: {ex.Message}");
        }

        return await WithStoreAsync(app, context, location, $"{name}: ", static _ => false, store => step(store, runId), cancellationToken).ConfigureAwait(false);
    }
}
