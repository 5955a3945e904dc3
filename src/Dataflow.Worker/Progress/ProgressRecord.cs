using System.Buffers;
using System.Text.Json;
using Dataflow.Storage;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker;

/// <summary>
/// What a driver is doing now, for a live view from another process or machine (the web UI): its phase and how many
/// tasks of each stage hold a slot, worker process or pod — what commit records cannot tell. Stored as
/// <c>_dataflow/runs/&lt;id&gt;/progress.json</c> by <see cref="ProgressPublisher"/> while the driver holds the lease;
/// only read while the lease is live.
/// </summary>
/// <param name="At">When the driver wrote it.</param>
/// <param name="Phase">One of <see cref="RunPhases"/>.</param>
/// <param name="Running">Per stage, tasks running now.</param>
internal sealed record ProgressRecord(DateTimeOffset At, string Phase, IReadOnlyList<int> Running)
{
    public const int CurrentSchemaVersion = 1;

    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("schemaVersion", CurrentSchemaVersion);
            writer.WriteString("at", At);
            writer.WriteString("phase", Phase);
            writer.WriteStartArray("running");
            foreach (var running in Running)
            {
                writer.WriteNumberValue(running);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a progress record; <see langword="null"/> when it is not one of a version this library reads (a live view does without).</summary>
    public static ProgressRecord? Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            return root.GetProperty("schemaVersion").GetInt32() == CurrentSchemaVersion
                ? new ProgressRecord(root.GetProperty("at").GetDateTimeOffset(), root.GetProperty("phase").GetString()!, [.. root.GetProperty("running").EnumerateArray().Select(e => e.GetInt32())])
                : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>
/// Stores the driver's <see cref="ProgressRecord"/> every <see cref="Interval"/> while it changes, off the run's path,
/// and deletes it at the end. A write that fails is logged at Debug and tried again at the next change: a live view
/// does without.
/// </summary>
internal sealed partial class ProgressPublisher : IAsyncDisposable
{
    /// <summary>How often the record is stored when it changed (a PUT every 2 s at most: cheap on S3 too).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly IObjectStore _store;
    private readonly string _key;
    private readonly RunProgress _progress;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private string? _last;
    private bool _written;

    public ProgressPublisher(IObjectStore store, RunLayout layout, RunProgress progress, TimeProvider time, ILogger logger, TimeSpan interval)
    {
        _store = store;
        _key = layout.ProgressKey;
        _progress = progress;
        _time = time;
        _logger = logger;
        _loop = interval <= TimeSpan.Zero ? Task.CompletedTask : LoopAsync(interval);
    }

    private async Task LoopAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                var record = new ProgressRecord(_time.GetUtcNow(), _progress.Phase, [.. _progress.Stages.Select(s => s.Running)]);
                var state = $"{record.Phase}|{string.Join(',', record.Running)}";
                if (state == _last)
                {
                    continue;
                }

                try
                {
                    await _store.PutAsync(_key, record.ToJson(), _stop.Token).ConfigureAwait(false);
                    _last = state;
                    _written = true;
                }
                catch (ObjectStoreException ex)
                {
                    Log.NotStored(_logger, _key, ex.Message, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        if (_written)
        {
            try
            {
                await _store.DeleteAsync([_key], CancellationToken.None).ConfigureAwait(false);
            }
            catch (ObjectStoreException ex)
            {
                Log.NotStored(_logger, _key, ex.Message, ex);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 42, Level = LogLevel.Debug, Message = "The progress record {Key} could not be stored or deleted: {Error}")]
        public static partial void NotStored(ILogger logger, string key, string error, Exception? exception);
    }
}
