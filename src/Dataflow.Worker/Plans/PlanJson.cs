using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// A whole plan as versioned JSON, to read or keep (<c>plan --emit json</c> writes it). Runs store their plans split
/// into chunks instead, so that a worker reads only its part; read a stored run's plan with
/// <see cref="JobRunner.LoadPlanAsync"/>.
/// </summary>
public static class PlanJson
{
    /// <summary>The plan as JSON text.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="indented">Indent for people to read.</param>
    public static string Serialize(Plan plan, bool indented = false) => PlanSerializer.Serialize(plan, indented);

    /// <summary>Reads a plan from JSON text.</summary>
    /// <exception cref="InvalidDataException">The text is not a plan, or its schema version is newer than this library's.</exception>
    public static Plan Deserialize(string json) => PlanSerializer.Deserialize(json);
}
