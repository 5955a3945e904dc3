using System.CommandLine;
using System.Globalization;
using System.Net;

namespace Dataflow.Hosting;

/// <summary>
/// The <c>ui</c> command: serves a web UI of the runs in a store (<see cref="UiServer"/>) until Ctrl+C. Loopback only
/// unless told otherwise, and then only with a token; read-only unless <c>--allow-actions</c>.
/// </summary>
/// <param name="app">The program.</param>
/// <param name="console">Where messages go.</param>
/// <param name="runCommand">Runs one of the program's commands in this process (a resume the page asks for).</param>
internal sealed class UiCommand(AppDefinition app, AppConsole console, Func<string[], AppConsole, CancellationToken, Task<int>> runCommand)
{
    /// <summary>The environment variable that may hold the token instead of <c>--token</c> (which other users of the machine can see in the process list).</summary>
    public const string TokenVariable = "DATAFLOW_UI_TOKEN";

    private readonly AppOption<int> _port = new("--port", "The port to serve on (0: any free one).", UiOptions.DefaultPort, "PORT", null, v => v is >= 0 and <= 65535 ? null : "must be 0 to 65535");
    private readonly AppOption<IPAddress> _bind = new("--bind", "The address to serve on. Anything but loopback (127.0.0.1, ::1) needs --token: the pages show the store's runs, their arguments and errors.", IPAddress.Loopback, "ADDRESS", ParseAddress, null);
    private readonly AppOption<string?> _token = new("--token", $"A secret every request must carry (open the printed address once, which ends in ?token=…, and the browser keeps it in a cookie; or send 'Authorization: Bearer <token>'). Also read from ${TokenVariable}, which other users cannot see in the process list. Needed with a --bind address other than loopback.", null, "TOKEN", null, v => v is null || v.Length >= 16 ? null : "must be at least 16 characters");
    private readonly AppOption<bool> _allowActions = new("--allow-actions", "Let the pages cancel a running run (through its lease), resume an interrupted, failed or cancelled one (in this process, with this command's --executor, --concurrency, --attempts and --task-timeout), and clean up (gc) one that ended. Off: the UI only reads.", false, null, null, null);

    public Command Create()
    {
        var driver = app.Driver;
        AppOption[] forResume = [driver.Executor, driver.Concurrency, driver.Attempts, driver.TaskTimeout];
        return CommandSupport.CreateStoreCommand(
            app,
            console,
            "ui",
            "Serve a web UI of the runs in a store: every run with its state; a run's stages, a timeline that grows while it runs, its failed attempts with their errors and inputs, its summary, outputs and report. It reads only the store's records, so it shows runs of any executor, driven from any machine. Stop it with Ctrl+C.",
            [app.Store.Store, app.Store.S3Profile, _port, _bind, _token, _allowActions, .. forResume, driver.Verbose],
            runId: null,
            async (context, _, cancellationToken) =>
            {
                var token = context.Get(_token) ?? (Environment.GetEnvironmentVariable(TokenVariable) is { Length: > 0 } variable ? variable : null);
                var bind = context.Get(_bind);
                if (!IPAddress.IsLoopback(bind) && token is null)
                {
                    return CommandSupport.Usage(context, $"ui: serving on {bind} would show the store's runs (their arguments, errors and outputs) to the network; give --token (or ${TokenVariable}), or leave --bind out to serve on loopback only");
                }

                if (token is { Length: < 16 })
                {
                    return CommandSupport.Usage(context, $"ui: ${TokenVariable} must be at least 16 characters");
                }

                var location = context.Get(app.Store.Store)!;
                var passOn = context.GivenArguments([app.Store.S3Profile, .. forResume]);
                var options = new UiOptions
                {
                    Store = context.Store,
                    Address = bind,
                    Port = context.Get(_port),
                    Token = token,
                    AllowActions = context.Get(_allowActions),
                    ProgramName = context.ProgramName,
                    Log = context.Info,
                    Resume = (runId, stop) => runCommand(["resume", runId, "--store", location, "--progress", "none", .. passOn], context.Console, stop),
                };

                UiServer server;
                try
                {
                    server = await UiServer.StartAsync(options, cancellationToken).ConfigureAwait(false);
                }
                catch (IOException ex)
                {
                    context.Info($"error: cannot serve on {bind}:{options.Port}: {ex.Message}");
                    return ExitCodes.Failure;
                }

                await using (server.ConfigureAwait(false))
                {
                    var address = token is null ? server.Address.ToString() : $"{server.Address}?token={Uri.EscapeDataString(token)}";
                    context.Info(string.Create(CultureInfo.InvariantCulture, $"serving the runs of {context.Store.Location} at {address} ({(options.AllowActions ? "actions allowed" : "read-only")}; Ctrl+C stops)"));
                    context.Console.Out.WriteLine(address);
                    context.Console.Out.Flush();
                    try
                    {
                        await server.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }

                context.Info("stopped serving");
                return ExitCodes.Success;
            },
            existing: true);
    }

    private static IPAddress ParseAddress(string text) =>
        text == "localhost" ? IPAddress.Loopback
        : IPAddress.TryParse(text, out var address) ? address
        : throw new FormatException($"'{text}' is not an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::)");
}
