using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dataflow.Hosting;

/// <summary>
/// The web UI of a store's runs (the <c>ui</c> command): Kestrel serving the pages (embedded, no network) and a JSON
/// API over <see cref="Worker.RunWatcher"/>s. Read-only unless actions are allowed; every request carries the token
/// when there is one; pages get a strict content security policy (scripts and styles from this server only), and
/// every value from the store reaches the page as JSON, shown as text.
/// </summary>
internal sealed partial class UiServer : IAsyncDisposable
{
    /// <summary>The cookie a browser keeps the token in once it opened the address with <c>?token=</c>.</summary>
    public const string TokenCookie = "dataflow-ui-token";

    // Pages: this server's scripts, styles and data URLs for the canvas' image only; no frames, no other origins.
    private const string PagePolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private readonly WebApplication _app;
    private readonly UiOptions _options;
    private readonly RunWatchers _watchers;
    private readonly UiActions _actions;

    private UiServer(WebApplication app, UiOptions options)
    {
        _app = app;
        _options = options;
        _watchers = new RunWatchers(options.Store, options.Time);
        _actions = new UiActions(options);
    }

    /// <summary>Where the server listens, e.g. <c>http://127.0.0.1:8650/</c>.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Starts the server.</summary>
    /// <exception cref="IOException">The address is in use (Kestrel's own exception is the inner one).</exception>
    public static async Task<UiServer> StartAsync(UiOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.IsLoopback && string.IsNullOrEmpty(options.Token))
        {
            throw new ArgumentException($"serving on {options.Address} would show the store's runs to the network: give a token");
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(options.Address, options.Port);
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
        });
        var app = builder.Build();
        var server = new UiServer(app, options);
        app.Run(server.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Address = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    /// <summary>Waits until <paramref name="cancellationToken"/> stops the server.</summary>
    public Task WaitAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _actions.DisposeAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _watchers.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.XFrameOptions = "DENY";
        response.Headers.CacheControl = "no-store";
        if (!IsAllowedHost(context.Request))
        {
            // A page of another site that resolves its own name to this machine (DNS rebinding) names its own host.
            await TextAsync(context, StatusCodes.Status421MisdirectedRequest, "this Dataflow UI answers only requests addressed to it by its own address").ConfigureAwait(false);
            return;
        }

        if (_options.Token is { Length: > 0 } token && !await AuthorizeAsync(context, token).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            await RouteAsync(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The browser went away.
        }
        catch (Exception ex) when (ex is Storage.ObjectStoreException or InvalidDataException)
        {
            _options.Log($"ui: {context.Request.Method} {context.Request.Path}: {ex.Message}");
            if (!response.HasStarted)
            {
                await ErrorAsync(context, StatusCodes.Status502BadGateway, $"the store failed: {ex.Message}").ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (!response.HasStarted)
        {
            // A bug of this server: said, not hidden behind an empty 500.
            _options.Log($"ui: {context.Request.Method} {context.Request.Path} failed: {ex}");
            await ErrorAsync(context, StatusCodes.Status500InternalServerError, $"the ui server failed: {ex.GetType().Name}: {ex.Message}").ConfigureAwait(false);
        }
    }

    private Task RouteAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        var method = context.Request.Method;
        if (path.StartsWith("/api/", StringComparison.Ordinal))
        {
            return HandleApiAsync(context, path["/api/".Length..].Split('/'), method);
        }

        if (method != HttpMethods.Get && method != HttpMethods.Head)
        {
            return TextAsync(context, StatusCodes.Status405MethodNotAllowed, "only GET is served here");
        }

        if (path is "/" or "/index.html")
        {
            return AssetAsync(context, "index.html");
        }

        if (path.StartsWith("/assets/", StringComparison.Ordinal))
        {
            return AssetAsync(context, path["/assets/".Length..]);
        }

        var parts = path.Trim('/').Split('/');
        if (parts is ["runs", var id, "report.html"])
        {
            return ReportAsync(context, id);
        }

        if (parts is ["runs", var run, "outputs", var n] && int.TryParse(n, out var output))
        {
            return OutputAsync(context, run, output);
        }

        return TextAsync(context, StatusCodes.Status404NotFound, $"no page at {path}");
    }

    /// <summary>
    /// Requests must name this server as it listens (<c>127.0.0.1:port</c>, <c>localhost:port</c>, <c>[::1]:port</c>, or
    /// the address it was bound to): on loopback without a token, that is what keeps other sites' pages out.
    /// </summary>
    private bool IsAllowedHost(HttpRequest request)
    {
        if (!_options.IsLoopback)
        {
            // Bound to a network address: the token guards it, and the name it is reached by is not known here.
            return true;
        }

        var host = request.Host.Host;
        return host is "localhost" or "127.0.0.1" or "[::1]" or "::1" || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }

    /// <summary>Lets the request through when it carries the token; else answers 401. A page opened with <c>?token=</c> keeps it in a cookie.</summary>
    private static async Task<bool> AuthorizeAsync(HttpContext context, string token)
    {
        var request = context.Request;
        if (request.Query.TryGetValue("token", out var given) && Matches(given.ToString(), token) && request.Method == HttpMethods.Get && !request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
        {
            context.Response.Cookies.Append(TokenCookie, token, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/", IsEssential = true });
            context.Response.Redirect(request.PathBase + request.Path);
            return false;
        }

        var bearer = request.Headers.Authorization.ToString();
        if ((bearer.StartsWith("Bearer ", StringComparison.Ordinal) && Matches(bearer["Bearer ".Length..], token))
            || (request.Cookies.TryGetValue(TokenCookie, out var cookie) && Matches(cookie, token)))
        {
            return true;
        }

        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"dataflow-ui\"";
        await TextAsync(context, StatusCodes.Status401Unauthorized, "this Dataflow UI needs its token: open the address the ui command printed (it ends in ?token=…), or send 'Authorization: Bearer <token>'").ConfigureAwait(false);
        return false;
    }

    private static bool Matches(string given, string token) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(token));

    private static async Task AssetAsync(HttpContext context, string name)
    {
        if (UiAssets.Find(name) is not { } asset)
        {
            await TextAsync(context, StatusCodes.Status404NotFound, $"no asset named {name}").ConfigureAwait(false);
            return;
        }

        var response = context.Response;
        response.ContentType = asset.ContentType;
        response.Headers.ContentSecurityPolicy = PagePolicy;
        response.Headers.CacheControl = "no-cache";
        response.Headers.ETag = asset.ETag;
        if (context.Request.Headers.IfNoneMatch == asset.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentLength = asset.Content.Length;
        await response.Body.WriteAsync(asset.Content, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The run's static report, as the run stored it, sandboxed: its own inline script runs, with no access to this origin.</summary>
    private async Task ReportAsync(HttpContext context, string runId)
    {
        if (!Worker.RunIds.IsValid(runId))
        {
            await TextAsync(context, StatusCodes.Status404NotFound, $"'{runId}' is not a run id").ConfigureAwait(false);
            return;
        }

        var key = Worker.RunIds.RecordsPrefix(runId) + "report.html";
        await StreamObjectAsync(context, key, "text/html; charset=utf-8", attachment: null,
            "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:",
            $"run {runId} has no report yet: a run writes it when it ends").ConfigureAwait(false);
    }

    /// <summary>Output <paramref name="index"/> of the run's plan, as a download.</summary>
    private async Task OutputAsync(HttpContext context, string runId, int index)
    {
        if (!Worker.RunIds.IsValid(runId) || await _watchers.GetAsync(runId, context.RequestAborted).ConfigureAwait(false) is not { } watcher)
        {
            await TextAsync(context, StatusCodes.Status404NotFound, $"no run '{runId}' in this store").ConfigureAwait(false);
            return;
        }

        var outputs = watcher.GetView().Outputs;
        if (index < 0 || index >= outputs.Count)
        {
            await TextAsync(context, StatusCodes.Status404NotFound, $"run {runId} has {outputs.Count} outputs; there is no output {index}").ConfigureAwait(false);
            return;
        }

        var key = outputs[index];
        await StreamObjectAsync(context, key, "application/octet-stream", Path.GetFileName(key), "default-src 'none'; sandbox", $"output '{key}' of run {runId} is not in the store (not published yet, or deleted)").ConfigureAwait(false);
    }

    private async Task StreamObjectAsync(HttpContext context, string key, string contentType, string? attachment, string policy, string missing)
    {
        Stream stream;
        try
        {
            stream = await _options.Store.OpenReadAsync(key, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        }
        catch (Storage.ObjectNotFoundException)
        {
            await TextAsync(context, StatusCodes.Status404NotFound, missing).ConfigureAwait(false);
            return;
        }

        await using (stream.ConfigureAwait(false))
        {
            var response = context.Response;
            response.ContentType = contentType;
            response.Headers.ContentSecurityPolicy = policy;
            if (attachment is not null)
            {
                response.Headers.ContentDisposition = new System.Net.Mime.ContentDisposition { FileName = SafeFileName(attachment), DispositionType = "attachment" }.ToString();
            }

            await stream.CopyToAsync(response.Body, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static string SafeFileName(string name)
    {
        var safe = new string([.. name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_')]);
        return safe.Length == 0 ? "output" : safe;
    }

    private static async Task TextAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message + "\n", context.RequestAborted).ConfigureAwait(false);
    }
}
