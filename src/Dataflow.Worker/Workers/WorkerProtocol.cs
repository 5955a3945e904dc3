using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// The task pipe between the process executor and a pooled worker (<c>worker --plan &lt;uri&gt; --serve</c>): one JSON
/// object per line, in both directions, and nothing but task identities.
/// </summary>
/// <remarks>
/// <code>
/// worker → driver, once, when it is ready:  dataflow-worker {"protocol":1,"pid":4242}
/// driver → worker, one task at a time:       {"protocol":1,"task":"0/7","attempt":1,"traceParent":"00-…-01"}
/// worker → driver, when the task is done:    dataflow-task {"task":"0/7","status":"committed",…}
/// </code>
/// The driver sends the next task only after the report of the last one. It closes the worker's standard input to
/// tell it to exit; a worker whose driver died sees the same end of input after its current task. Lines on the
/// worker's standard output without one of the prefixes are not the protocol's (an operator's own output) and are
/// ignored; a line with a prefix that does not parse, or a request or greeting of another protocol version, is an
/// error that ends the worker (a build mismatch, which trying again cannot mend).
/// </remarks>
internal static class WorkerProtocol
{
    /// <summary>The protocol's version: both ends must speak the same.</summary>
    public const int Version = 1;

    /// <summary>The prefix of the greeting a worker writes once it has loaded the plan and defined the job.</summary>
    public const string HelloPrefix = "dataflow-worker ";

    /// <summary>A task's report: committed, or committed before (not run again).</summary>
    public const string Committed = "committed";

    /// <inheritdoc cref="Committed"/>
    public const string Skipped = "skipped";

    /// <summary>A task's report: a committed input was missing or failed verification (<see cref="WorkerReport.LostObject"/>).</summary>
    public const string Lost = "lost";

    /// <summary>
    /// A task's report: the attempt failed (<see cref="WorkerReport.Error"/>, the cause's type and message); another
    /// attempt may succeed, unless <see cref="WorkerReport.Permanent"/> says the worker's job found the failure permanent.
    /// </summary>
    public const string Failed = "failed";

    /// <summary>A task's report: the worker cannot run this task at all (no such task, a damaged plan); trying again cannot help.</summary>
    public const string Refused = "refused";

    /// <summary>The line asking a worker to run <paramref name="request"/> (without its line break).</summary>
    public static string FormatRequest(TaskRequest request) =>
        JsonSerializer.Serialize(request, WorkerJsonContext.Default.TaskRequest);

    /// <summary>Reads a request line.</summary>
    /// <param name="line">The line.</param>
    /// <param name="number">Its number on the worker's input, from 1, for the message.</param>
    /// <exception cref="InvalidDataException">Not a task request of this protocol's version; the message quotes the line.</exception>
    public static TaskRequest ParseRequest(string line, int number)
    {
        ArgumentNullException.ThrowIfNull(line);
        TaskRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(line, WorkerJsonContext.Default.TaskRequest);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"line {number} of the task pipe, '{Quote(line)}', is not a task request: {ex.Message}"), ex);
        }

        if (request is null || request.Task is null)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"line {number} of the task pipe, '{Quote(line)}', is not a task request: it names no task"));
        }

        if (request.Protocol != Version)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"line {number} of the task pipe asks for task {request.Task} in protocol {request.Protocol}; this worker speaks protocol {Version}: run workers of the same build as the driver"));
        }

        if (request.Attempt < 1)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"line {number} of the task pipe asks for attempt {request.Attempt} of task {request.Task}; attempts count from 1"));
        }

        return request;
    }

    /// <summary>The greeting line of a worker of process <paramref name="processId"/>.</summary>
    public static string FormatHello(int processId) =>
        HelloPrefix + JsonSerializer.Serialize(new WorkerHello(Version, processId), WorkerJsonContext.Default.WorkerHello);

    /// <summary>The report line of one task.</summary>
    public static string FormatReport(WorkerReport report) =>
        TaskWorker.ReportPrefix + JsonSerializer.Serialize(report, WorkerJsonContext.Default.WorkerReport);

    /// <summary>Reads a line of a worker's standard output.</summary>
    /// <returns>A greeting, a report, a line that is not the protocol's, or a protocol line that does not parse (with why).</returns>
    public static WorkerLine ParseLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        try
        {
            if (line.StartsWith(HelloPrefix, StringComparison.Ordinal))
            {
                return JsonSerializer.Deserialize(line.AsSpan(HelloPrefix.Length), WorkerJsonContext.Default.WorkerHello) is { } hello
                    ? new WorkerLine(hello, null, null)
                    : new WorkerLine(null, null, $"'{Quote(line)}' is not a worker's greeting");
            }

            if (line.StartsWith(TaskWorker.ReportPrefix, StringComparison.Ordinal))
            {
                return JsonSerializer.Deserialize(line.AsSpan(TaskWorker.ReportPrefix.Length), WorkerJsonContext.Default.WorkerReport) is { Status: not null } report
                    ? new WorkerLine(null, report, null)
                    : new WorkerLine(null, null, $"'{Quote(line)}' is not a task report");
            }
        }
        catch (JsonException ex)
        {
            return new WorkerLine(null, null, $"'{Quote(line)}' does not parse: {ex.Message}");
        }

        return new WorkerLine(null, null, null);
    }

    /// <summary>A line as it appears in a message: at most 200 characters.</summary>
    private static string Quote(string line) => line.Length <= 200 ? line : string.Concat(line.AsSpan(0, 200), "…");
}

/// <summary>A request to run one attempt of one task (driver → worker).</summary>
/// <param name="Protocol">The driver's <see cref="WorkerProtocol.Version"/>.</param>
/// <param name="Task">The task (never missing in a request that parsed).</param>
/// <param name="Attempt">The attempt's number, from 1.</param>
internal sealed record TaskRequest(int Protocol, TaskId? Task, int Attempt)
{
    /// <summary>The W3C <c>traceparent</c> of the driver's span of this attempt, when the driver is traced.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceParent { get; init; }
}

/// <summary>A worker's greeting (worker → driver): it is ready and speaks <paramref name="Protocol"/>.</summary>
/// <param name="Protocol">The worker's <see cref="WorkerProtocol.Version"/>.</param>
/// <param name="Pid">The worker's process id.</param>
internal sealed record WorkerHello(int Protocol, int Pid);

/// <summary>One line of a worker's standard output, read: a greeting, a report, or neither (<see cref="Malformed"/> says why when it was meant to be one).</summary>
internal sealed record WorkerLine(WorkerHello? Hello, WorkerReport? Report, string? Malformed);
