using System.Text.Json;

namespace Dataflow.Testing;

/// <summary>
/// A plan as JSON written by reflection, for comparing two plans field by field in tests that cannot see Dataflow's
/// own serializer (it belongs to the runtime). The serializer's own round trips are tested with the runtime.
/// </summary>
public static class PlanJson
{
    private static readonly JsonSerializerOptions s_options = new() { WriteIndented = false };

    /// <summary>Every field of <paramref name="plan"/>, as JSON.</summary>
    public static string Of(Plan plan) => JsonSerializer.Serialize(plan, s_options);
}
