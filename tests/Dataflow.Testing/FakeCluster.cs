using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Dataflow.Testing;

/// <summary>
/// The state behind the HTTP front: the object store, the pods (processes) and the running controllers.
/// </summary>
/// <remarks>One concept, kept in one file: the fake cluster's state and the operations the API server calls on it.</remarks>
internal sealed class FakeCluster : IAsyncDisposable
{
    private const string SuffixAlphabet = "bcdfghjklmnpqrstvwxz2456789";

    private readonly Lock _gate = new();
    private readonly List<FakePod> _pods = [];
    private readonly Dictionary<(ResourceKind Kind, string Namespace, string Name), CancellationTokenSource> _controllers = [];
    private readonly List<Task> _controllerTasks = [];
    private readonly CancellationTokenSource _disposed = new();

    public FakeCluster(FakeClusterOptions options) => Options = options;

    public event EventHandler<FakePod>? PodStarted;

    public FakeClusterOptions Options { get; }

    public ResourceStore Store { get; } = new();

    public IReadOnlyList<FakePod> Pods
    {
        get
        {
            lock (_gate)
            {
                return [.. _pods];
            }
        }
    }

    public static string RandomSuffix() => RandomNumberGenerator.GetString(SuffixAlphabet, 5);

    public FakePod? FindPod(string ns, string name)
    {
        lock (_gate)
        {
            return _pods.FindLast(p => p.Namespace == ns && p.Name == name);
        }
    }

    /// <summary>Runs a controller for a new Job or Workflow until it finishes or the object is deleted.</summary>
    public void StartController(ResourceKind kind, string ns, string name, Func<CancellationToken, Task> run)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token);
        lock (_gate)
        {
            _controllers[(kind, ns, name)] = stop;
            _controllerTasks.Add(Task.Run(async () =>
            {
                try
                {
                    await run(stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // Deleted, or the server is stopping.
                }
                catch (Exception ex)
                {
                    // A bug in the fake: make it visible on the object rather than losing it.
                    Store.Update(kind, ns, name, o => Json.Obj(o, "status")["fakeControllerError"] = ex.ToString());
                    throw;
                }
            }));
        }
    }

    /// <summary>
    /// Deletes a Job or Workflow. Background and Foreground propagation also kill and remove its pods; Orphan only
    /// stops its controller and leaves the pods running.
    /// </summary>
    public JsonObject? DeleteOwner(ResourceKind kind, string ns, string name, string propagationPolicy)
    {
        CancellationTokenSource? stop;
        lock (_gate)
        {
            _controllers.Remove((kind, ns, name), out stop);
        }

        stop?.Cancel();
        var deleted = Store.Delete(kind, ns, name);
        if (deleted is null)
        {
            return null;
        }

        if (propagationPolicy != "Orphan")
        {
            foreach (var pod in Pods.Where(p => p.OwnerKind == kind && p.Namespace == ns && p.OwnerName == name))
            {
                pod.Kill();
                Store.Delete(ResourceKind.Pods, ns, pod.Name);
            }
        }

        return deleted;
    }

    /// <summary>
    /// Creates a pod object and starts its process. Volume mounts are not emulated: tests use the same paths inside
    /// and outside "pods". Only the first container runs; init containers and sidecars are ignored.
    /// </summary>
    public FakePod StartPod(PodRequest request)
    {
        var pod = new FakePod(
            request.Namespace, request.Name, request.OwnerKind, request.OwnerName, request.CompletionIndex,
            request.Attempt, Options.MaxLogCharacters);
        var containerName = Json.Str(request.Container["name"]) ?? "main";
        var obj = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = request.Name,
                ["labels"] = ToJson(request.Labels),
                ["annotations"] = ToJson(request.Annotations),
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = request.OwnerKind.ApiVersion,
                    ["kind"] = request.OwnerKind.Kind,
                    ["name"] = request.OwnerName,
                    ["uid"] = request.OwnerUid,
                    ["controller"] = true,
                }),
            },
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray(request.Container.DeepClone()),
                ["restartPolicy"] = "Never",
            },
            ["status"] = new JsonObject { ["phase"] = "Pending" },
        };
        lock (_gate)
        {
            _pods.Add(pod);
        }

        Store.TryCreate(ResourceKind.Pods, request.Namespace, obj, out _);

        if (!TryBuildStartInfo(request, out var startInfo, out var error))
        {
            Finish(pod, containerName, new PodOutcome("Failed", null, error.Reason, error.Message));
            return pod;
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => pod.AppendLog(e.Data);
        process.ErrorDataReceived += (_, e) => pod.AppendLog(e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            process.Dispose();
            Finish(pod, containerName, new PodOutcome(
                "Failed", 128, "StartError", $"failed to start {startInfo.FileName}: {ex.Message}"));
            return pod;
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var startedAt = Json.Now();
        Store.Update(ResourceKind.Pods, request.Namespace, request.Name, o =>
        {
            o["status"] = new JsonObject
            {
                ["phase"] = "Running",
                ["startTime"] = startedAt,
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
                ["containerStatuses"] = new JsonArray(new JsonObject
                {
                    ["name"] = containerName,
                    ["ready"] = true,
                    ["restartCount"] = 0,
                    ["started"] = true,
                    ["image"] = Json.Str(request.Container["image"]),
                    ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = startedAt } },
                }),
            };
        });
        pod.Attach(process);
        PodStarted?.Invoke(this, pod);
        _ = WaitForExitAsync(pod, process, containerName, startedAt);
        return pod;
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync().ConfigureAwait(false);
        Store.CloseWatchers();
        foreach (var pod in Pods)
        {
            pod.Kill();
        }

        Task[] waits;
        lock (_gate)
        {
            waits = [.. _pods.Select(p => p.Exited), .. _controllerTasks];
        }

        try
        {
            // A controller's own failure (a bug in the fake) surfaces here, failing the test that disposes.
            await Task.WhenAll(waits).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Best effort: a process that survives SIGKILL this long is beyond the fake's reach.
        }
        finally
        {
            lock (_gate)
            {
                foreach (var stop in _controllers.Values)
                {
                    stop.Dispose();
                }

                _controllers.Clear();
            }

            _disposed.Dispose();
        }
    }

    private async Task WaitForExitAsync(FakePod pod, Process process, string containerName, string startedAt)
    {
        using (process)
        {
            await process.WaitForExitAsync().ConfigureAwait(false);
            var code = process.ExitCode;
            var outcome = code == 0
                ? new PodOutcome("Succeeded", 0, "Completed", null)
                : new PodOutcome("Failed", code, "Error", null);
            Finish(pod, containerName, outcome, startedAt);
        }
    }

    private void Finish(FakePod pod, string containerName, PodOutcome outcome, string? startedAt = null)
    {
        var finishedAt = Json.Now();
        Store.Update(ResourceKind.Pods, pod.Namespace, pod.Name, o =>
        {
            JsonObject state = outcome.ExitCode is int code
                ? new JsonObject
                {
                    ["terminated"] = new JsonObject
                    {
                        ["exitCode"] = code,
                        ["reason"] = outcome.Reason,
                        ["message"] = outcome.Message,
                        ["startedAt"] = startedAt ?? finishedAt,
                        ["finishedAt"] = finishedAt,
                    },
                }
                : new JsonObject
                {
                    ["waiting"] = new JsonObject { ["reason"] = outcome.Reason, ["message"] = outcome.Message },
                };
            var status = Json.Obj(o, "status");
            status["phase"] = outcome.Phase;
            status["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "False" });
            if (outcome.ExitCode is null)
            {
                status["reason"] = outcome.Reason;
                status["message"] = outcome.Message;
            }

            status["containerStatuses"] = new JsonArray(new JsonObject
            {
                ["name"] = containerName,
                ["ready"] = false,
                ["restartCount"] = 0,
                ["started"] = false,
                ["state"] = state,
            });
        });
        pod.Finish(outcome);
    }

    private bool TryBuildStartInfo(PodRequest request, out ProcessStartInfo startInfo, out (string Reason, string Message) error)
    {
        startInfo = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        error = default;
        var container = request.Container;
        var command = StringList(container["command"]);
        var args = StringList(container["args"]);
        if (command.Count == 0)
        {
            error = ("CreateContainerError",
                $"container {Json.Str(container["name"])} has no command: the fake server cannot run an image's entrypoint");
            return false;
        }

        var line = Options.Commands.TryGetValue(command[0], out var replacement)
            ? [.. replacement, .. command.Skip(1), .. args]
            : command.Concat(args).ToList();
        startInfo.FileName = line[0];
        foreach (var a in line.Skip(1))
        {
            startInfo.ArgumentList.Add(a);
        }

        if (Json.Str(container["workingDir"]) is { Length: > 0 } workingDir)
        {
            startInfo.WorkingDirectory = workingDir;
        }

        startInfo.Environment["HOSTNAME"] = request.Name;
        foreach (var (key, value) in request.ExtraEnvironment)
        {
            startInfo.Environment[key] = value;
        }

        // envFrom first: explicit env entries win over it, as in Kubernetes.
        foreach (var source in Json.Objects(container["envFrom"]))
        {
            if (source["secretRef"] is not JsonObject secretRef)
            {
                continue;
            }

            var secretName = Json.Str(secretRef["name"]) ?? "";
            if (!Options.Secrets.TryGetValue($"{request.Namespace}/{secretName}", out var secret))
            {
                if (Json.Str(secretRef["optional"]) == "true")
                {
                    continue;
                }

                error = ("CreateContainerConfigError", $"secret \"{secretName}\" not found");
                return false;
            }

            var prefix = Json.Str(source["prefix"]) ?? "";
            foreach (var (key, value) in secret)
            {
                startInfo.Environment[prefix + key] = value;
            }
        }

        foreach (var variable in Json.Objects(container["env"]))
        {
            var name = Json.Str(variable["name"]) ?? "";
            if (variable["valueFrom"]?["secretKeyRef"] is JsonObject keyRef)
            {
                var secretName = Json.Str(keyRef["name"]) ?? "";
                var key = Json.Str(keyRef["key"]) ?? "";
                var optional = Json.Str(keyRef["optional"]) == "true";
                if (!Options.Secrets.TryGetValue($"{request.Namespace}/{secretName}", out var secret))
                {
                    if (optional)
                    {
                        continue;
                    }

                    error = ("CreateContainerConfigError", $"secret \"{secretName}\" not found");
                    return false;
                }

                if (!secret.TryGetValue(key, out var value))
                {
                    if (optional)
                    {
                        continue;
                    }

                    error = ("CreateContainerConfigError", $"couldn't find key {key} in Secret {request.Namespace}/{secretName}");
                    return false;
                }

                startInfo.Environment[name] = value;
            }
            else
            {
                // $(VAR) references in values are not expanded by the fake.
                startInfo.Environment[name] = Json.Str(variable["value"]) ?? "";
            }
        }

        return true;
    }

    private static List<string> StringList(JsonNode? node) =>
        node is JsonArray array ? [.. array.Select(n => Json.Str(n) ?? "")] : [];

    private static JsonObject ToJson(IReadOnlyDictionary<string, string> map)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in map)
        {
            obj[key] = value;
        }

        return obj;
    }
}

/// <summary>What a controller asks the cluster to run.</summary>
internal sealed record PodRequest(
    string Namespace,
    string Name,
    ResourceKind OwnerKind,
    string OwnerName,
    string? OwnerUid,
    JsonObject Container,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    IReadOnlyDictionary<string, string> ExtraEnvironment,
    int? CompletionIndex,
    int Attempt);
