using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Dataflow.Core;
using Dataflow.Worker;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Hosting;

/// <summary>
/// The JSON API the pages read. Every answer is small whatever the run's size: runs are paged, a run is aggregated
/// (stages, a timeline of buckets, the newest failures), and tasks come a page at a time.
/// </summary>
/// <remarks>
/// <code>
/// GET  /api/store                                  the store, the program, whether actions are allowed
/// GET  /api/runs?offset=&amp;limit=                   runs, newest first
/// GET  /api/runs/{id}?since={version}&amp;buckets=     one run: state, stages, timeline, summary, failures ({"unchanged":true} when nothing changed)
/// GET  /api/runs/{id}/tasks?stage=&amp;state=&amp;offset=&amp;limit=   a page of a stage's tasks
/// GET  /api/runs/{id}/tasks/{stage}/{index}        one task: inputs, outputs, its committed attempt
/// POST /api/runs/{id}/cancel | resume | gc         actions (with --allow-actions, and the header X-Dataflow-Action: 1)
/// </code>
/// </remarks>
internal sealed partial class UiServer
{
    /// <summary>Runs a page of <c>/api/runs</c> holds at most.</summary>
    public const int MaxRunsPerPage = 200;

    /// <summary>How long one listing of the store's runs serves every page that asks.</summary>
    public static readonly TimeSpan RunListInterval = TimeSpan.FromSeconds(2);

    private static readonly JsonWriterOptions s_writer = new() { Indented = false };
    private readonly Lock _runsGate = new();
    private Task<IReadOnlyList<RunListing>>? _runs;
    private long _runsListedAt;

    private async Task HandleApiAsync(HttpContext context, string[] parts, string method)
    {
        var token = context.RequestAborted;
        switch (parts)
        {
            case ["store"] when method == HttpMethods.Get:
                await JsonAsync(context, w =>
                {
                    w.WriteString("location", _options.Store.Location);
                    w.WriteString("program", _options.ProgramName);
                    w.WriteString("dataflowVersion", DataflowInfo.Version);
                    w.WriteBoolean("actions", _options.AllowActions);
                    w.WriteBoolean("canResume", _options.AllowActions && _options.Resume is not null);
                    w.WriteString("now", _options.Time.GetUtcNow());
                }).ConfigureAwait(false);
                return;
            case ["runs"] when method == HttpMethods.Get:
                await RunsAsync(context, token).ConfigureAwait(false);
                return;
            case ["runs", var id] when method == HttpMethods.Get:
                await RunAsync(context, id, token).ConfigureAwait(false);
                return;
            case ["runs", var id, "tasks"] when method == HttpMethods.Get:
                await TasksAsync(context, id, token).ConfigureAwait(false);
                return;
            case ["runs", var id, "tasks", var stage, var index] when method == HttpMethods.Get:
                await TaskAsync(context, id, stage, index, token).ConfigureAwait(false);
                return;
            case ["runs", var id, var action] when method == HttpMethods.Post && UiActions.Names.Contains(action):
                await ActionAsync(context, id, action, token).ConfigureAwait(false);
                return;
            default:
                await ErrorAsync(context, StatusCodes.Status404NotFound, $"no API at {method} {context.Request.Path}").ConfigureAwait(false);
                return;
        }
    }

    private async Task RunsAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var offset = QueryInt(context, "offset", 0, 0, int.MaxValue);
        var limit = QueryInt(context, "limit", 50, 1, MaxRunsPerPage);
        if (offset is null || limit is null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, $"offset must be 0 or more and limit 1 to {MaxRunsPerPage}").ConfigureAwait(false);
            return;
        }

        var runs = await ListRunsAsync(cancellationToken).ConfigureAwait(false);
        var newestFirst = runs.OrderByDescending(r => r.CreatedAt ?? DateTimeOffset.MinValue).ThenByDescending(r => r.RunId, StringComparer.Ordinal).ToList();
        await JsonAsync(context, w =>
        {
            w.WriteNumber("total", newestFirst.Count);
            w.WriteNumber("offset", offset.Value);
            w.WriteStartArray("runs");
            foreach (var run in newestFirst.Skip(offset.Value).Take(limit.Value))
            {
                w.WriteStartObject();
                w.WriteString("runId", run.RunId);
                w.WriteString("job", run.Job);
                w.WriteString("state", run.State);
                WriteTime(w, "createdAt", run.CreatedAt);
                WriteNumber(w, "tasks", run.Tasks);
                WriteNumber(w, "tasksCommitted", run.TasksCommitted);
                WriteNumber(w, "tasksCached", run.Summary?.TasksCached);
                WriteNumber(w, "wallMs", run.Summary?.WallMs);
                w.WriteString("output", run.Summary?.Output);
                w.WriteString("error", run.Summary?.Error);
                w.WriteString("damage", run.Damage);
                w.WriteString("leaseHolder", run.Lease?.Holder);
                w.WriteString("workflow", run.Lease?.Workflow);
                w.WriteNumber("intermediateObjects", run.IntermediateObjects);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// The store's runs (<see cref="RunCatalog.ListAsync"/> lists every record of every run, and reads the commits of
    /// runs that did not succeed): listed at most every <see cref="RunListInterval"/>, however many pages ask.
    /// </summary>
    private async Task<IReadOnlyList<RunListing>> ListRunsAsync(CancellationToken cancellationToken)
    {
        Task<IReadOnlyList<RunListing>> listing;
        lock (_runsGate)
        {
            if (_runs is null || _runs.IsFaulted || _runs.IsCanceled || (_runs.IsCompleted && _options.Time.GetElapsedTime(_runsListedAt) >= RunListInterval))
            {
                _runsListedAt = _options.Time.GetTimestamp();
                _runs = RunCatalog.ListAsync(_options.Store, _options.Time, CancellationToken.None);
            }

            listing = _runs;
        }

        return await listing.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<RunWatcher?> WatcherAsync(HttpContext context, string runId, CancellationToken cancellationToken)
    {
        if (!RunIds.IsValid(runId))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, $"'{runId}' is not a run id").ConfigureAwait(false);
            return null;
        }

        if (await _watchers.GetAsync(runId, cancellationToken).ConfigureAwait(false) is { } watcher)
        {
            return watcher;
        }

        await ErrorAsync(context, StatusCodes.Status404NotFound, $"no run '{runId}' in {_options.Store.Location}").ConfigureAwait(false);
        return null;
    }

    private async Task RunAsync(HttpContext context, string runId, CancellationToken cancellationToken)
    {
        var buckets = QueryInt(context, "buckets", 120, 10, 600);
        if (buckets is null)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "buckets must be 10 to 600").ConfigureAwait(false);
            return;
        }

        if (await WatcherAsync(context, runId, cancellationToken).ConfigureAwait(false) is not { } watcher)
        {
            return;
        }

        var version = watcher.Version;
        var view = watcher.GetView();
        if (context.Request.Query.TryGetValue("since", out var since) && since.ToString() == version.ToString(CultureInfo.InvariantCulture)
            && view.State != RunCatalog.Running && view.RecordsPending == 0)
        {
            await JsonAsync(context, w =>
            {
                w.WriteBoolean("unchanged", true);
                w.WriteNumber("version", version);
            }).ConfigureAwait(false);
            return;
        }

        var timeline = watcher.GetTimeline(buckets.Value);
        var failures = await watcher.GetFailuresAsync(20, cancellationToken).ConfigureAwait(false);
        await JsonAsync(context, w =>
        {
            w.WriteNumber("version", version);
            UiJson.WriteRun(w, view, _actions.Pending(runId), _actions.LastResult(runId));
            UiJson.WriteTimeline(w, timeline);
            UiJson.WriteFailures(w, failures);
        }).ConfigureAwait(false);
    }

    private async Task TasksAsync(HttpContext context, string runId, CancellationToken cancellationToken)
    {
        var stage = QueryInt(context, "stage", 0, 0, int.MaxValue);
        var offset = QueryInt(context, "offset", 0, 0, int.MaxValue);
        var limit = QueryInt(context, "limit", 100, 1, 1000);
        var state = context.Request.Query["state"].ToString() is { Length: > 0 } s and not "all" ? s : null;
        if (stage is null || offset is null || limit is null || (state is not null && !TaskStates.All.Contains(state)))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, $"stage and offset must be 0 or more, limit 1 to 1000, and state one of all, {string.Join(", ", TaskStates.All)}").ConfigureAwait(false);
            return;
        }

        if (await WatcherAsync(context, runId, cancellationToken).ConfigureAwait(false) is not { } watcher)
        {
            return;
        }

        TaskPage page;
        try
        {
            page = watcher.GetTasks(stage.Value, state, offset.Value, limit.Value);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            await ErrorAsync(context, StatusCodes.Status404NotFound, FirstLine(ex.Message)).ConfigureAwait(false);
            return;
        }

        await JsonAsync(context, w => UiJson.WriteTasks(w, page)).ConfigureAwait(false);
    }

    private async Task TaskAsync(HttpContext context, string runId, string stageText, string indexText, CancellationToken cancellationToken)
    {
        if (!int.TryParse(stageText, NumberStyles.None, CultureInfo.InvariantCulture, out var stage) || !int.TryParse(indexText, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "a task is /tasks/{stage}/{index}, two numbers").ConfigureAwait(false);
            return;
        }

        if (await WatcherAsync(context, runId, cancellationToken).ConfigureAwait(false) is not { } watcher)
        {
            return;
        }

        if (await watcher.GetTaskAsync(new TaskId(stage, index), cancellationToken).ConfigureAwait(false) is not { } task)
        {
            await ErrorAsync(context, StatusCodes.Status404NotFound, $"run {runId} has no task {stage}/{index}").ConfigureAwait(false);
            return;
        }

        await JsonAsync(context, w => UiJson.WriteTask(w, task)).ConfigureAwait(false);
    }

    private async Task ActionAsync(HttpContext context, string runId, string action, CancellationToken cancellationToken)
    {
        if (!_options.AllowActions)
        {
            await ErrorAsync(context, StatusCodes.Status403Forbidden, "actions are off: start the ui command with --allow-actions to resume, cancel and clean up runs").ConfigureAwait(false);
            return;
        }

        // A form or a plain cross-site request cannot set this header; the pages' own requests do.
        if (context.Request.Headers["X-Dataflow-Action"] != "1")
        {
            await ErrorAsync(context, StatusCodes.Status403Forbidden, "an action needs the header X-Dataflow-Action: 1").ConfigureAwait(false);
            return;
        }

        if (await WatcherAsync(context, runId, cancellationToken).ConfigureAwait(false) is not { } watcher)
        {
            return;
        }

        var (status, message) = await _actions.RunAsync(action, watcher.GetView(), cancellationToken).ConfigureAwait(false);
        _options.Log($"ui: {action} run {runId}: {message}");
        if (status >= 400)
        {
            await ErrorAsync(context, status, message).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = status;
        await JsonAsync(context, w => w.WriteString("message", message), status).ConfigureAwait(false);
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Split(" (Parameter")[0];

    private static int? QueryInt(HttpContext context, string name, int defaultValue, int min, int max)
    {
        var text = context.Request.Query[name].ToString();
        if (text.Length == 0)
        {
            return defaultValue;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value : null;
    }

    private static void WriteNumber(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void WriteTime(Utf8JsonWriter writer, string name, DateTimeOffset? value)
    {
        if (value is { } v)
        {
            writer.WriteString(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static Task ErrorAsync(HttpContext context, int status, string message) =>
        JsonAsync(context, w => w.WriteString("error", message), status);

    /// <summary>Answers with one JSON object whose members <paramref name="write"/> writes.</summary>
    private static async Task JsonAsync(HttpContext context, Action<Utf8JsonWriter> write, int status = StatusCodes.Status200OK)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer, s_writer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
