using System.Text.Json.Nodes;

namespace Dataflow.Testing;

/// <summary>What a <see cref="FakeKubernetesApiServer"/> runs pods with, and what it refuses.</summary>
public sealed class FakeClusterOptions
{
    /// <summary>
    /// Maps a container's <c>command[0]</c> (such as <c>/app/merge-files</c>) to the local command that replaces it
    /// (such as <c>["dotnet", "/abs/merge-files.dll"]</c>); the container's other command items and its args follow.
    /// A command not in the map is run as written.
    /// </summary>
    public IDictionary<string, IReadOnlyList<string>> Commands { get; } =
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    /// <summary>
    /// Secrets that container <c>env[].valueFrom.secretKeyRef</c> and <c>envFrom[].secretRef</c> resolve against,
    /// keyed <c>namespace/name</c>, each a map of key to value. Use <see cref="AddSecret"/>.
    /// </summary>
    public IDictionary<string, IReadOnlyDictionary<string, string>> Secrets { get; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);

    /// <summary>
    /// The text of a YAML file holding a <c>Role</c> or <c>ClusterRole</c> (other documents are ignored). When set,
    /// every request its rules do not grant is refused with 403 Forbidden. Null (the default) allows everything.
    /// </summary>
    public string? Rbac { get; set; }

    /// <summary>
    /// Validates a Workflow before it is created: returns its errors, empty when valid. A Workflow with errors is
    /// refused with 422 Invalid. Null (the default) skips this check; the fake's own checks still run.
    /// </summary>
    public Func<JsonNode, IReadOnlyList<string>>? ValidateWorkflow { get; set; }

    /// <summary>How much of a pod's output the log endpoint keeps (the last bytes). Defaults to 1 MiB.</summary>
    public int MaxLogCharacters { get; set; } = 1 << 20;

    /// <summary>
    /// The longest an Argo <c>retryStrategy.backoff</c> delay is honoured for, so that tests stay fast.
    /// Defaults to 100 ms.
    /// </summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Registers a secret in <see cref="Secrets"/>.</summary>
    /// <param name="namespace">The secret's namespace.</param>
    /// <param name="name">The secret's name.</param>
    /// <param name="data">Its keys and (plain-text) values.</param>
    public void AddSecret(string @namespace, string name, IReadOnlyDictionary<string, string> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(data);
        Secrets[$"{@namespace}/{name}"] = new Dictionary<string, string>(data, StringComparer.Ordinal);
    }

    internal void Validate()
    {
        if (MaxLogCharacters <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxLogCharacters), MaxLogCharacters, "Must be positive.");
        }

        if (MaxRetryBackoff < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetryBackoff), MaxRetryBackoff, "Must not be negative.");
        }

        foreach (var (key, command) in Commands)
        {
            if (command is null || command.Count == 0)
            {
                throw new ArgumentException($"Commands[\"{key}\"] is empty.", nameof(Commands));
            }
        }
    }
}
