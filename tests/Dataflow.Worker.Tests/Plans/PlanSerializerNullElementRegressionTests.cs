using System.Text;
using System.Text.Json.Nodes;

namespace Dataflow.Worker.Tests.Plans;

/// <summary>
/// Regression: System.Text.Json does not apply nullable annotations to collection elements, so PlanSerializer
/// returned plans with a null input, stage, task or output (e.g. <c>"stages":[null]</c>), and
/// PlanValidator.Validate then failed with a NullReferenceException instead of a message.
/// </summary>
public sealed class PlanSerializerNullElementRegressionTests
{
    public static TheoryData<string> Lists => new() { "inputs", "stages", "outputs", "tasks", "task inputs", "task outputs" };

    [Theory]
    [MemberData(nameof(Lists))]
    public async Task Deserialize_NullListElement_ThrowsInvalidDataException(string list)
    {
        var node = JsonNode.Parse(PlanSerializer.Serialize(TestPlans.Small()))!.AsObject();
        var task = node["stages"]![1]!["tasks"]![0]!;
        var array = list switch
        {
            "tasks" => node["stages"]![1]!["tasks"]!,
            "task inputs" => task["inputs"]!,
            "task outputs" => task["outputs"]!,
            _ => node[list]!,
        };
        array.AsArray().Insert(1, null);
        var json = node.ToJsonString();

        var fromText = Assert.Throws<InvalidDataException>(() => PlanSerializer.Deserialize(json));
        Assert.Throws<InvalidDataException>(() => PlanSerializer.Deserialize(Encoding.UTF8.GetBytes(json)));
        await Assert.ThrowsAsync<InvalidDataException>(() => PlanSerializer.DeserializeAsync(new MemoryStream(Encoding.UTF8.GetBytes(json))));

        Assert.StartsWith("not a Dataflow plan", fromText.Message, StringComparison.Ordinal);
        Assert.Contains("'plan-job'", fromText.Message, StringComparison.Ordinal);
        Assert.Contains("null", fromText.Message, StringComparison.Ordinal);
    }
}
