using System.Diagnostics;
using Dataflow.Core;
using Dataflow.Storage;

namespace Dataflow.Worker;

/// <summary>
/// The spans Dataflow records through <see cref="System.Diagnostics.ActivitySource"/>: one per run
/// (<c>dataflow.run</c>), per stage (<c>dataflow.stage</c>, from its first attempt to the last one that ended), per
/// task attempt (<c>dataflow.task</c>), and per storage call (source <see cref="ObjectStoreTracing.SourceName"/>).
/// Listen with an <see cref="ActivityListener"/> or OpenTelemetry (<c>AddSource("Dataflow", "Dataflow.Storage")</c>).
/// When nothing listens, no span is created.
/// </summary>
public static class DataflowTracing
{
    /// <summary>The name of the source of run, stage and task spans.</summary>
    public const string SourceName = "Dataflow";

    /// <summary>The tag of the run's id.</summary>
    public const string RunTag = "dataflow.run_id";

    /// <summary>The tag of a task's index in its stage.</summary>
    public const string TaskTag = "dataflow.task";

    /// <summary>The tag of an attempt's number.</summary>
    public const string AttemptTag = "dataflow.attempt";

    internal static readonly ActivitySource Source = new(SourceName, DataflowInfo.Version);

    /// <summary>Starts the span of a run (it becomes the current span of the caller's flow).</summary>
    internal static Activity? StartRun(string operation, string job, string runId)
    {
        var activity = Source.StartActivity("dataflow.run", ActivityKind.Internal);
        activity?.SetTag(DataflowMetrics.JobTag, job);
        activity?.SetTag(RunTag, runId);
        activity?.SetTag("dataflow.operation", operation);
        return activity;
    }

    /// <summary>Marks <paramref name="activity"/> as failed with <paramref name="error"/>.</summary>
    internal static void Fail(Activity? activity, Exception error)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, error.Message);
        activity.AddException(error);
    }
}

/// <summary>
/// The stage spans of one run: a stage's span starts with its first attempt, under the run's span, and stops when
/// its last task has committed or when the run ends. Task spans are children of their stage's span.
/// </summary>
internal sealed class StageSpans : IDisposable
{
    private readonly Plan _plan;
    private readonly ActivityContext _run;
    private readonly Activity?[] _spans;
    private readonly int[] _left;
    private readonly Lock _gate = new();

    public StageSpans(Plan plan, Activity? run)
    {
        _plan = plan;
        _run = run?.Context ?? default;
        _spans = new Activity?[plan.Stages.Count];
        _left = plan.Stages.Select(s => s.Tasks.Count).ToArray();
    }

    /// <summary>Starts the span of attempt <paramref name="attempt"/> of <paramref name="task"/> (current in the caller's flow).</summary>
    public Activity? StartTask(TaskId task, int attempt)
    {
        if (!DataflowTracing.Source.HasListeners())
        {
            return null;
        }

        var stage = Stage(task.Stage);
        var activity = DataflowTracing.Source.StartActivity("dataflow.task", ActivityKind.Internal, stage?.Context ?? _run);
        if (activity is not null)
        {
            activity.DisplayName = $"task {task}";
            activity.SetTag(DataflowMetrics.StageTag, _plan.Stages[task.Stage].Name);
            activity.SetTag(DataflowTracing.TaskTag, task.Index);
            activity.SetTag(DataflowTracing.AttemptTag, attempt);
        }

        return activity;
    }

    /// <summary>Counts a task of <paramref name="stage"/> as done (committed, skipped or failed for good); the last one stops the stage's span.</summary>
    public void TaskDone(int stage)
    {
        Activity? done = null;
        lock (_gate)
        {
            if (--_left[stage] == 0)
            {
                (done, _spans[stage]) = (_spans[stage], null);
            }
        }

        StopKeepingCurrent(done);
    }

    /// <summary>Stops the spans of stages that did not finish (a failed or cancelled run).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var span in _spans)
            {
                StopKeepingCurrent(span);
            }

            Array.Clear(_spans);
        }
    }

    // Activity.Stop makes the span's predecessor current in the calling flow; a stage span's predecessor is whatever
    // was current where it started, which must not leak into the flow that happens to stop it.
    private static void StopKeepingCurrent(Activity? span)
    {
        if (span is null)
        {
            return;
        }

        var current = Activity.Current;
        span.Stop();
        Activity.Current = current;
    }

    private Activity? Stage(int stage)
    {
        lock (_gate)
        {
            if (_spans[stage] is null && _left[stage] > 0)
            {
                // Not the current span of the task that happens to start it: it belongs to the run, not to that flow.
                var current = Activity.Current;
                var span = DataflowTracing.Source.StartActivity("dataflow.stage", ActivityKind.Internal, _run);
                Activity.Current = current;
                if (span is not null)
                {
                    span.DisplayName = $"stage {_plan.Stages[stage].Name}";
                    span.SetTag(DataflowMetrics.StageTag, _plan.Stages[stage].Name);
                    span.SetTag("dataflow.stage.tasks", _plan.Stages[stage].Tasks.Count);
                }

                _spans[stage] = span;
            }

            return _spans[stage];
        }
    }
}
