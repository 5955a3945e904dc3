using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dataflow.Testing;

/// <summary>
/// A small Kubernetes API server on 127.0.0.1 for tests: batch/v1 Jobs, argoproj.io/v1alpha1 Workflows and a
/// read-only view of v1 Pods, with watches, RBAC and validation, whose Job and Workflow controllers run each pod as a
/// local process. JSON only; no update or patch.
/// </summary>
/// <remarks>
/// <para>
/// Served: create, get, list, watch, delete and deletecollection of Jobs and Workflows; get, list, watch and
/// <c>log</c> of Pods; <c>GET jobs/{name}/status</c>. Lists and watches take <c>labelSelector</c> (<c>=</c>, <c>==</c>,
/// <c>!=</c>, exists, <c>!</c>, <c>in</c>, <c>notin</c>) and <c>fieldSelector</c> (<c>metadata.name</c>,
/// <c>metadata.namespace</c>). One global resourceVersion; a watch from a resourceVersion replays the events after it.
/// Errors are <c>Status</c> objects: 400, 403 (RBAC), 404, 405 (update, patch, pod writes), 409, 410, 413 (bodies over
/// 1.5 MiB), 422.
/// </para>
/// <para>
/// Not emulated: authentication (any token is accepted), admission, finalizers and <c>deletionTimestamp</c> (a
/// deletion is immediate; Foreground behaves as Background), owner-reference garbage collection beyond a Job's or
/// Workflow's own pods, <c>resourceVersionMatch</c>, pagination (<c>limit</c>/<c>continue</c>), watch bookmarks,
/// protobuf and YAML bodies, server-side apply, events, and cluster-scoped or all-namespaces paths.
/// </para>
/// <para>One concept, kept in one file: the API server's HTTP front (routes, verbs, status codes and limits).</para>
/// </remarks>
public sealed class FakeKubernetesApiServer : IAsyncDisposable
{
    /// <summary>etcd's request limit: the API server refuses larger bodies with 413.</summary>
    public const int MaxRequestBodyBytes = 1_572_864;

    private readonly WebApplication _app;
    private readonly FakeCluster _cluster;
    private readonly RbacPolicy? _rbac;
    private readonly Lock _gate = new();
    private readonly List<ApiRequest> _requests = [];
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    private FakeKubernetesApiServer(WebApplication app, FakeCluster cluster, RbacPolicy? rbac)
    {
        _app = app;
        _cluster = cluster;
        _rbac = rbac;
    }

    /// <summary>Raised when a pod's process has started (on a controller's thread; keep handlers short).</summary>
    public event EventHandler<FakePod>? PodStarted
    {
        add => _cluster.PodStarted += value;
        remove => _cluster.PodStarted -= value;
    }

    /// <summary>The server's address, <c>http://127.0.0.1:port/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Every request answered so far, in the order their answers ended (a watch when it closed).</summary>
    public IReadOnlyList<ApiRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Every pod the controllers have started, in order, including ended and deleted ones.</summary>
    public IReadOnlyList<FakePod> Pods => _cluster.Pods;

    /// <summary>Starts a server on a free loopback port.</summary>
    /// <param name="options">What pods run and what is refused; read at start.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<FakeKubernetesApiServer> StartAsync(
        FakeClusterOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var rbac = options.Rbac is null ? null : RbacPolicy.Parse(options.Rbac);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Production",
        });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        var server = new FakeKubernetesApiServer(app, new FakeCluster(options), rbac);
        app.Run(server.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
            .Addresses.First();
        server.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    /// <summary>Writes a kubeconfig whose current context points at this server, in <paramref name="namespace"/>.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="namespace">The context's namespace.</param>
    public void WriteKubeconfig(string path, string @namespace)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        var server = BaseAddress.ToString().TrimEnd('/');
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {server}
            users:
            - name: fake
              user:
                token: fake-token
            contexts:
            - name: fake
              context:
                cluster: fake
                user: fake
                namespace: {@namespace}
            current-context: fake

            """);
    }

    /// <summary>Kills every pod process, ends open watches and stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            {
                await _app.StopAsync(timeout.Token).ConfigureAwait(false);
            }

            await _app.DisposeAsync().ConfigureAwait(false);
            _stopping.Dispose();
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var route = Route.Parse(request.Method, request.Path.Value ?? "/", request.Query);
        try
        {
            if (_rbac is not null && route.Verb.Length > 0 && !_rbac.Allows(route.Group, route.RbacResource, route.Verb, route.Name))
            {
                var qualified = route.Group.Length == 0 ? route.Plural : $"{route.Plural}.{route.Group}";
                var what = route.Name is null ? $"{qualified} is forbidden: " : $"{qualified} \"{route.Name}\" is forbidden: ";
                throw new ApiStatusException(403, "Forbidden",
                    $"{what}User \"system:serviceaccount:{route.Namespace}:fake\" cannot {route.Verb} resource \"{route.RbacResource}\" in API group \"{route.Group}\"{(route.Namespace.Length == 0 ? " at the cluster scope" : $" in the namespace \"{route.Namespace}\"")}",
                    new JsonObject { ["name"] = route.Name, ["group"] = route.Group, ["kind"] = route.Plural });
            }

            if (route.Kind is null || route.Namespace.Length == 0)
            {
                throw new ApiStatusException(404, "NotFound", "the server could not find the requested resource");
            }

            await DispatchAsync(context, route).ConfigureAwait(false);
        }
        catch (ApiStatusException ex)
        {
            if (!context.Response.HasStarted)
            {
                await WriteJsonAsync(context, ex.Code, ex.ToStatus()).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested || _stopping.IsCancellationRequested)
        {
            // The client went away, or the server is stopping.
        }
        finally
        {
            lock (_gate)
            {
                _requests.Add(new ApiRequest(
                    request.Method, request.Path.Value ?? "", route.Verb, route.Group, route.RbacResource,
                    route.Namespace, context.Response.StatusCode));
            }
        }
    }

    private async Task DispatchAsync(HttpContext context, Route route)
    {
        var kind = route.Kind!;
        var query = context.Request.Query;
        switch (route.Verb)
        {
            case "get" when route.Subresource == "log" && kind == ResourceKind.Pods:
                await GetLogAsync(context, route).ConfigureAwait(false);
                return;
            case "get" when route.Subresource is null or "status":
                var found = _cluster.Store.Get(kind, route.Namespace, route.Name!)
                    ?? throw ApiStatusException.NotFound(kind, route.Name!);
                await WriteJsonAsync(context, 200, found).ConfigureAwait(false);
                return;
            case "list":
                var (items, resourceVersion) = _cluster.Store.List(kind, route.Namespace, Filter(query));
                await WriteJsonAsync(context, 200, new JsonObject
                {
                    ["kind"] = kind.Kind + "List",
                    ["apiVersion"] = kind.ApiVersion,
                    ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion },
                    ["items"] = new JsonArray([.. items]),
                }).ConfigureAwait(false);
                return;
            case "watch":
                await WatchAsync(context, route, kind).ConfigureAwait(false);
                return;
            case "create" when route.Subresource is null && kind != ResourceKind.Pods:
                await CreateAsync(context, route, kind).ConfigureAwait(false);
                return;
            case "delete" when route.Subresource is null && kind != ResourceKind.Pods:
                var policy = await PropagationPolicyAsync(context).ConfigureAwait(false);
                var deleted = _cluster.DeleteOwner(kind, route.Namespace, route.Name!, policy)
                    ?? throw ApiStatusException.NotFound(kind, route.Name!);
                await WriteJsonAsync(context, 200, ApiStatus.Success(kind, route.Name!, Json.Str(deleted["metadata"]?["uid"]))).ConfigureAwait(false);
                return;
            case "deletecollection" when kind != ResourceKind.Pods:
                var collectionPolicy = await PropagationPolicyAsync(context).ConfigureAwait(false);
                var (victims, _) = _cluster.Store.List(kind, route.Namespace, Filter(query));
                foreach (var victim in victims)
                {
                    _cluster.DeleteOwner(kind, route.Namespace, Json.Name(victim), collectionPolicy);
                }

                await WriteJsonAsync(context, 200, new JsonObject
                {
                    ["kind"] = "Status",
                    ["apiVersion"] = "v1",
                    ["metadata"] = new JsonObject(),
                    ["status"] = "Success",
                }).ConfigureAwait(false);
                return;
            default:
                throw new ApiStatusException(405, "MethodNotAllowed",
                    $"the server does not allow this method on the requested resource (the fake serves no {route.Verb} of {route.RbacResource})");
        }
    }

    private static Func<JsonObject, bool> Filter(IQueryCollection query)
    {
        var labels = Selectors.Labels(query["labelSelector"]);
        var fields = Selectors.Fields(query["fieldSelector"]);
        return obj => labels(obj) && fields(obj);
    }

    private async Task CreateAsync(HttpContext context, Route route, ResourceKind kind)
    {
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body.Length == 0)
        {
            throw ApiStatusException.BadRequest("the request body is empty");
        }

        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(body) as JsonObject ?? throw ApiStatusException.BadRequest("the body is not a JSON object");
        }
        catch (JsonException ex)
        {
            throw ApiStatusException.BadRequest($"the body is not valid JSON: {ex.Message}");
        }

        if (Json.Str(obj["kind"]) is { } bodyKind && bodyKind != kind.Kind)
        {
            throw ApiStatusException.BadRequest($"the kind \"{bodyKind}\" of the body does not match the resource {kind.QualifiedPlural}");
        }

        if (Json.Str(obj["metadata"]?["namespace"]) is { Length: > 0 } bodyNamespace && bodyNamespace != route.Namespace)
        {
            throw ApiStatusException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        Validation.AssignName(obj);
        var name = Json.Name(obj);
        List<(string Field, string Message)> errors;
        if (kind == ResourceKind.Jobs)
        {
            errors = Validation.Job(obj);
        }
        else
        {
            errors = Validation.Workflow(obj);
            if (errors.Count == 0 && _cluster.Options.ValidateWorkflow is { } validate)
            {
                errors.AddRange(validate(obj.DeepClone()).Select(e => ("", e)));
            }
        }

        if (errors.Count > 0)
        {
            throw ApiStatusException.Invalid(kind, name, errors);
        }

        obj.Remove("status");
        if (!_cluster.Store.TryCreate(kind, route.Namespace, obj, out var created))
        {
            throw ApiStatusException.AlreadyExists(kind, name);
        }

        _cluster.StartController(kind, route.Namespace, name, kind == ResourceKind.Jobs
            ? new JobController(_cluster, route.Namespace, name).RunAsync
            : new WorkflowController(_cluster, route.Namespace, name).RunAsync);
        await WriteJsonAsync(context, 201, created).ConfigureAwait(false);
    }

    private static async Task<string> PropagationPolicyAsync(HttpContext context)
    {
        if (context.Request.Query["propagationPolicy"].ToString() is { Length: > 0 } fromQuery)
        {
            return fromQuery;
        }

        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body.Length > 0)
        {
            try
            {
                if (Json.Str(JsonNode.Parse(body)?["propagationPolicy"]) is { Length: > 0 } fromBody)
                {
                    return fromBody;
                }
            }
            catch (JsonException ex)
            {
                throw ApiStatusException.BadRequest($"the DeleteOptions body is not valid JSON: {ex.Message}");
            }
        }

        // Jobs (batch/v1) default to orphaning their pods when deleted through the API; Workflows' pods are
        // removed by Argo regardless, so the fake treats the default as Background for them.
        return context.Request.Path.Value?.Contains("/jobs", StringComparison.Ordinal) == true ? "Orphan" : "Background";
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxRequestBodyBytes)
            {
                throw new ApiStatusException(413, "RequestEntityTooLarge",
                    $"Request entity too large: limit is {MaxRequestBodyBytes.ToString(CultureInfo.InvariantCulture)}");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private async Task GetLogAsync(HttpContext context, Route route)
    {
        if (!_cluster.Store.Exists(ResourceKind.Pods, route.Namespace, route.Name!))
        {
            throw ApiStatusException.NotFound(ResourceKind.Pods, route.Name!);
        }

        var log = _cluster.FindPod(route.Namespace, route.Name!)?.Log ?? "";
        if (int.TryParse(context.Request.Query["tailLines"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var tail) && tail >= 0)
        {
            var lines = log.Split('\n');
            var count = lines.Length - (log.EndsWith('\n') ? 1 : 0);
            var keep = lines.Take(count).Skip(Math.Max(0, count - tail)).ToList();
            log = keep.Count == 0 ? "" : string.Join('\n', keep) + "\n";
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync(log, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task WatchAsync(HttpContext context, Route route, ResourceKind kind)
    {
        var query = context.Request.Query;
        long? since = null;
        if (query["resourceVersion"].ToString() is { Length: > 0 } rv && rv != "0")
        {
            since = long.TryParse(rv, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw ApiStatusException.BadRequest($"invalid resourceVersion \"{rv}\"");
        }

        using var watcher = _cluster.Store.Watch(kind, route.Namespace, Filter(query), since);
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        if (int.TryParse(query["timeoutSeconds"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var timeout) && timeout > 0)
        {
            lifetime.CancelAfter(TimeSpan.FromSeconds(timeout));
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-cache, private";

        // Send the headers now: the client waits for them before it reads the first event.
        await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        try
        {
            await foreach (var line in watcher.Events.ReadAllAsync(lifetime.Token).ConfigureAwait(false))
            {
                await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), lifetime.Token).ConfigureAwait(false);
                await context.Response.Body.FlushAsync(lifetime.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (lifetime.IsCancellationRequested)
        {
            // Timeout, client gone or server stopping: the watch ends as the real one does, by closing the stream.
            // As with the real server, a watch that ends before its first event sends an empty body (KubernetesClient
            // then reports an EndOfStreamException: kubernetes-client/csharp#893).
        }
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(Json.Write(body), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A request mapped onto Kubernetes terms: group, resource, subresource, namespace, name and verb.</summary>
    private sealed record Route(
        string Group, string Plural, string Namespace, string? Name, string? Subresource, string Verb, ResourceKind? Kind)
    {
        public string RbacResource => Subresource is null ? Plural : $"{Plural}/{Subresource}";

        public static Route Parse(string method, string path, IQueryCollection query)
        {
            var segments = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
            int rest;
            string group;
            string version;
            if (segments.Length >= 2 && segments[0] == "api")
            {
                (group, version, rest) = ("", segments[1], 2);
            }
            else if (segments.Length >= 3 && segments[0] == "apis")
            {
                (group, version, rest) = (segments[1], segments[2], 3);
            }
            else
            {
                return new Route("", "", "", null, null, "", null);
            }

            var tail = segments[rest..];
            var ns = "";
            if (tail.Length >= 2 && tail[0] == "namespaces")
            {
                ns = tail[1];
                tail = tail[2..];
            }

            if (tail.Length == 0 || tail.Length > 3)
            {
                return new Route(group, "", ns, null, null, "", null);
            }

            var plural = tail[0];
            var name = tail.Length > 1 ? tail[1] : null;
            var subresource = tail.Length > 2 ? tail[2] : null;
            var watch = query["watch"].ToString() is "true" or "1";
            var verb = (method, name is null) switch
            {
                ("GET", true) => watch ? "watch" : "list",
                ("GET", false) => "get",
                ("POST", _) => "create",
                ("PUT", _) => "update",
                ("PATCH", _) => "patch",
                ("DELETE", true) => "deletecollection",
                ("DELETE", false) => "delete",
                _ => "",
            };
            return new Route(group, plural, ns, name, subresource, verb, ResourceKind.Find(group, version, plural));
        }
    }
}
