using System.Diagnostics.Metrics;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// The metrics Dataflow publishes through <see cref="System.Diagnostics.Metrics"/>, on the meter named
/// <see cref="MeterName"/>: listen with a <see cref="MeterListener"/>, <c>dotnet-counters</c>, or OpenTelemetry's
/// exporters (<c>AddMeter("Dataflow")</c>). Every measurement carries the job's name (<c>dataflow.job</c>), and
/// those of a task its stage (<c>dataflow.stage</c>). A worker process or pod publishes the measurements of the
/// tasks it runs; the driver those of the tasks it runs itself, its commits and its garbage collection.
/// </summary>
public static class DataflowMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Dataflow";

    /// <summary>The tag of the job's name.</summary>
    public const string JobTag = "dataflow.job";

    /// <summary>The tag of a task's stage name.</summary>
    public const string StageTag = "dataflow.stage";

    internal static readonly Meter Meter = new(MeterName, DataflowInfo.Version);

    internal static readonly Counter<long> TasksStarted = Meter.CreateCounter<long>("dataflow.tasks.started", "{attempt}", "Task attempts started, retries included.");

    internal static readonly Counter<long> TasksRetried = Meter.CreateCounter<long>("dataflow.tasks.retried", "{attempt}", "Task attempts that retried a failed attempt.");

    internal static readonly Counter<long> TasksSpeculated = Meter.CreateCounter<long>("dataflow.tasks.speculated", "{attempt}", "Backup attempts started beside a straggling task (speculative attempts).");

    internal static readonly Counter<long> TasksCommitted = Meter.CreateCounter<long>("dataflow.tasks.committed", "{task}", "Tasks committed by this run (not those found committed before).");

    internal static readonly Counter<long> TasksFailed = Meter.CreateCounter<long>("dataflow.tasks.failed", "{task}", "Tasks that failed on every attempt.");

    internal static readonly Counter<long> BytesRead = Meter.CreateCounter<long>("dataflow.bytes.read", "By", "Bytes read from the store by tasks and server-side composes.");

    internal static readonly Counter<long> BytesWritten = Meter.CreateCounter<long>("dataflow.bytes.written", "By", "Bytes written to the store by tasks, composes and publishing.");

    internal static readonly Counter<long> BytesComposed = Meter.CreateCounter<long>("dataflow.bytes.composed", "By", "Bytes a store assembled server-side from other objects (also counted as read and written).");

    internal static readonly Counter<long> StoreRetries = Meter.CreateCounter<long>("dataflow.store.retries", "{request}", "Store requests retried by the store's retry policy after a transient failure (throttling, a 5xx, a dropped connection).");

    internal static readonly Counter<long> GcObjectsDeleted = Meter.CreateCounter<long>("dataflow.gc.objects_deleted", "{object}", "Intermediate objects deleted by garbage collection.");

    internal static readonly Histogram<double> TaskDuration = Meter.CreateHistogram<double>("dataflow.task.duration", "s", "Duration of successful task attempts, from start to commit.");
}
