namespace Dataflow.Testing;

/// <summary>Job inputs for planner, manifest and plan-storage tests.</summary>
public static class TestInputs
{
    /// <summary>
    /// <paramref name="count"/> input objects <c>in/00000</c>… with distinct keys, deliberately not in key order (so
    /// that order must come from the list), object <c>i</c> of the list <c>i</c> bytes long.
    /// </summary>
    public static PlanInput[] Shuffled(int count, int seed = 1)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new Random(seed).Shuffle(order);
        return order.Select((id, i) => new PlanInput($"in/{id:D5}", i)).ToArray();
    }
}
