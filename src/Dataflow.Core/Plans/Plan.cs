using System.Text.Json.Serialization;

namespace Dataflow.Core;

/// <summary>
/// A job turned into stages of tasks for one run: plain data, serialized as versioned JSON
/// and stored with the run, so that any worker can run any task from it.
/// </summary>
public sealed record Plan
{
    /// <summary>The plan schema version this library writes and reads.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>The plan schema version; readers refuse versions newer than theirs.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>The version of Dataflow that made the plan.</summary>
    public required string DataflowVersion { get; init; }

    /// <summary>The job's name.</summary>
    public required string Job { get; init; }

    /// <summary>The run this plan belongs to.</summary>
    public required string RunId { get; init; }

    /// <summary>When the plan was made.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>
    /// The program arguments that defined the job (its own options, never the store's credentials), so that a worker
    /// process or a resumed driver can define the same job again; <see langword="null"/> when the job was defined in code.
    /// </summary>
    public IReadOnlyList<string>? Arguments { get; init; }

    /// <summary>
    /// How the run uses the task cache. With <see cref="CacheMode.On"/> the run's intermediate data is written under
    /// the cache's prefix (<c>_dataflow/cache/data/&lt;run-id&gt;/</c>) rather than the run's, so that what the cache
    /// keeps outlives the run's records. Left out of the plan's JSON when off, so that a plan without the cache is
    /// written as before; by name otherwise, as in the plan's index.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    [JsonConverter(typeof(JsonStringEnumConverter<CacheMode>))]
    public CacheMode Cache { get; init; }

    /// <summary>The job's input objects as listed for this run, in the order the job reads them.</summary>
    public required IReadOnlyList<PlanInput> Inputs { get; init; }

    /// <summary>The stages, in order.</summary>
    public required IReadOnlyList<PlanStage> Stages { get; init; }

    /// <summary>The final outputs, published once every task has committed.</summary>
    public required IReadOnlyList<PlanOutput> Outputs { get; init; }

    /// <summary>The total number of tasks.</summary>
    [JsonIgnore]
    public int TaskCount
    {
        get
        {
            var count = 0;
            foreach (var stage in Stages)
            {
                count += stage.Tasks.Count;
            }

            return count;
        }
    }

    /// <summary>The task with this id.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such task.</exception>
    public PlanTask GetTask(TaskId id)
    {
        if ((uint)id.Stage >= (uint)Stages.Count || (uint)id.Index >= (uint)Stages[id.Stage].Tasks.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"plan of job '{Job}' has no task {id}");
        }

        return Stages[id.Stage].Tasks[id.Index];
    }

    /// <summary>Every task id, stage by stage.</summary>
    public IEnumerable<TaskId> TaskIds()
    {
        for (var s = 0; s < Stages.Count; s++)
        {
            for (var t = 0; t < Stages[s].Tasks.Count; t++)
            {
                yield return new TaskId(s, t);
            }
        }
    }
}
