namespace Dataflow.Testing;

/// <summary>Field-by-field plan comparison (records compare their lists by reference, so plain equality does not do).</summary>
public static class PlanAssert
{
    public static void Equal(Plan expected, Plan actual)
    {
        Assert.Equal(expected.SchemaVersion, actual.SchemaVersion);
        Assert.Equal(expected.DataflowVersion, actual.DataflowVersion);
        Assert.Equal(expected.Job, actual.Job);
        Assert.Equal(expected.RunId, actual.RunId);
        Assert.Equal(expected.CreatedAt, actual.CreatedAt);
        Assert.Equal(expected.CreatedAt.Offset, actual.CreatedAt.Offset);
        Assert.Equal(expected.Inputs, actual.Inputs);
        Assert.Equal(expected.Outputs, actual.Outputs);
        Assert.Equal(expected.Stages.Count, actual.Stages.Count);
        for (var s = 0; s < expected.Stages.Count; s++)
        {
            var e = expected.Stages[s];
            var a = actual.Stages[s];
            Assert.True(e.Name == a.Name, $"stage {s}: name '{a.Name}', expected '{e.Name}'");
            Assert.True(e.Tasks.Count == a.Tasks.Count, $"stage {s}: {a.Tasks.Count} tasks, expected {e.Tasks.Count}");
            for (var t = 0; t < e.Tasks.Count; t++)
            {
                TaskEqual(new TaskId(s, t), e.Tasks[t], a.Tasks[t]);
            }
        }
    }

    private static void TaskEqual(TaskId id, PlanTask expected, PlanTask actual)
    {
        Assert.True(expected.Operator == actual.Operator, $"task {id}: operator '{actual.Operator}', expected '{expected.Operator}'");
        Assert.True(expected.Inputs.SequenceEqual(actual.Inputs), $"task {id}: inputs [{string.Join(", ", actual.Inputs)}], expected [{string.Join(", ", expected.Inputs)}]");
        Assert.True(expected.Outputs.SequenceEqual(actual.Outputs, StringComparer.Ordinal), $"task {id}: outputs [{string.Join(", ", actual.Outputs)}], expected [{string.Join(", ", expected.Outputs)}]");
        Assert.True(expected.DependsOn.SequenceEqual(actual.DependsOn), $"task {id}: depends on [{string.Join(", ", actual.DependsOn)}], expected [{string.Join(", ", expected.DependsOn)}]");
    }
}
