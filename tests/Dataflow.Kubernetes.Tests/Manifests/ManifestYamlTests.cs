using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Dataflow.Kubernetes.Tests.Manifests;

public sealed class ManifestYamlTests(ITestOutputHelper output)
{
    public static TheoryData<string> TrickyStrings() =>
    [
        "", " ", "{{item}}", "{{inputs.parameters.shard}}", ":", "a: b", "a:b", "#", "a #b", "-", "- a", "-1", "--plan",
        "yes", "Yes", "no", "on", "off", "y", "n", "true", "False", "null", "Null", "~", "0123", "123", "1e3", "1.5", ".5",
        "0x1F", "0o17", ".inf", "-.inf", ".nan", "1_000", "12:30", "line\nbreak", "tab\there", "cr\r", "quote\"s",
        "back\\slash", "'single'", "unicode é ü 名前 😀", "\u2028", "\ufeff", "\u0007bell", "[a]", "{a: 1}", "&anchor",
        "*alias", "!tag", "%percent", "@at", "`tick", "|", ">", "?", "trailing ", " leading", "s3://bucket/prefix/plan.json",
        "dataflow.io/job", "asInt(lastRetry.exitCode) != 2", "500m", "512Mi",
    ];

    [Theory]
    [MemberData(nameof(TrickyStrings))]
    public void ToYaml_TrickyString_ReadsBackAsTheSameString(string text)
    {
        var tree = new JsonObject
        {
            ["value"] = text,
            ["list"] = new JsonArray(text, new JsonObject { [text.Length == 0 ? "empty" : text] = text }),
        };

        AssertRoundTrip(tree);
    }

    [Fact]
    public void ToYaml_NumbersBooleansNullAndEmptyContainers_ReadBackWithTheirTypes()
    {
        var tree = new JsonObject
        {
            ["int"] = 3,
            ["negative"] = -42,
            ["long"] = 9_007_199_254_740_993L,
            ["double"] = 2.5,
            ["true"] = true,
            ["false"] = false,
            ["null"] = null,
            ["emptyObject"] = new JsonObject(),
            ["emptyArray"] = new JsonArray(),
            ["nested"] = new JsonArray(new JsonArray(new JsonObject { ["name"] = "a", ["x"] = new JsonArray() }), new JsonArray(), new JsonArray(1, 2)),
        };

        var yaml = ManifestYaml.ToYaml(tree);

        Assert.Contains("int: 3\n", yaml, StringComparison.Ordinal);
        Assert.Contains("emptyObject: {}\n", yaml, StringComparison.Ordinal);
        Assert.Contains("emptyArray: []\n", yaml, StringComparison.Ordinal);
        Assert.Contains("- - name: a\n", yaml, StringComparison.Ordinal);
        AssertRoundTrip(tree);
    }

    [Fact]
    public void ToYaml_ScalarRoot_IsOneLine()
    {
        Assert.Equal("\"yes\"\n", ManifestYaml.ToYaml(JsonValue.Create("yes")));
        Assert.Equal("null\n", ManifestYaml.ToYaml(null));
        Assert.Equal("{}\n", ManifestYaml.ToYaml(new JsonObject()));
    }

    [Fact]
    public void ToYaml_SeedWorkflow_ReadsBackAsTheSameTree()
    {
        var workflow = ArgoWorkflowEmitter.Emit(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, ManifestPlans.S3Options());

        output.WriteLine(ManifestYaml.ToYaml(workflow));
        AssertRoundTrip(workflow);
    }

    [Fact]
    public void Write_SeedJobList_MatchesToYaml()
    {
        var list = KubernetesJobEmitter.EmitAll(ManifestPlans.ReduceTree(512), ManifestPlans.PlanUri, ManifestPlans.S3Options());
        using var writer = new StringWriter();

        ManifestYaml.Write(list, writer);

        Assert.Equal(ManifestYaml.ToYaml(list), writer.ToString());
        AssertRoundTrip(list);
    }

    private static void AssertRoundTrip(JsonNode tree)
    {
        var yaml = ManifestYaml.ToYaml(tree);
        var back = YamlToJson.Parse(yaml);
        Assert.True(back is not null, yaml);
        Assert.Equal(tree.ToJsonString(), back.ToJsonString());
    }
}
