using System.Reflection;

namespace Dataflow.Core;

/// <summary>Facts about this build of Dataflow.</summary>
public static class DataflowInfo
{
    /// <summary>The informational version of Dataflow.Core (e.g. <c>0.1.0+abc123</c>), written into plans.</summary>
    public static string Version { get; } =
        typeof(DataflowInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(DataflowInfo).Assembly.GetName().Version?.ToString()
        ?? "0.0.0";
}
