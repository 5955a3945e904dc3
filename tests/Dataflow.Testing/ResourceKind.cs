namespace Dataflow.Testing;

/// <summary>A resource type the fake serves.</summary>
internal sealed record ResourceKind(string Group, string Version, string Plural, string Kind)
{
    public static readonly ResourceKind Pods = new("", "v1", "pods", "Pod");
    public static readonly ResourceKind Jobs = new("batch", "v1", "jobs", "Job");
    public static readonly ResourceKind Workflows = new("argoproj.io", "v1alpha1", "workflows", "Workflow");

    public static IReadOnlyList<ResourceKind> All { get; } = [Pods, Jobs, Workflows];

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>How API errors name the resource: <c>jobs.batch</c>, <c>pods</c>.</summary>
    public string QualifiedPlural => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    /// <summary>How validation errors name the kind: <c>Job.batch</c>, <c>Pod</c>.</summary>
    public string QualifiedKind => Group.Length == 0 ? Kind : $"{Kind}.{Group}";

    public static ResourceKind? Find(string group, string version, string plural) =>
        All.FirstOrDefault(k => k.Group == group && k.Version == version && k.Plural == plural);
}
