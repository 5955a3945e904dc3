using System.Text.Json;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>A commit record as a <see cref="RunWatcher"/> keeps it: its markers without their outputs and lineage.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Markers">The committed attempts.</param>
/// <param name="SetAside">The commits it sets aside, as the record has them.</param>
/// <param name="Shard">For a shard record: the shard, as the record has it.</param>
internal sealed record WatchedRecord(string RunId, IReadOnlyList<WatchedMarker> Markers, IReadOnlyList<SetAsideCommit>? SetAside, ShardRun? Shard);

/// <summary>What a <see cref="RunWatcher"/> keeps of a <see cref="CommitMarker"/>.</summary>
internal readonly record struct WatchedMarker(TaskId Task, string AttemptId, int Attempt, DateTimeOffset CommittedAt, long DurationMs, string? Worker, long? BytesRead, long? BytesWritten, bool Cached)
{
    public static WatchedMarker Of(CommitMarker marker) =>
        new(marker.Task, marker.AttemptId, marker.Attempt, marker.CommittedAt, marker.DurationMs, marker.Worker, marker.BytesRead, marker.BytesWritten, marker.CachedFrom is not null);
}

/// <summary>
/// Reads commit records for a <see cref="RunWatcher"/>: what it keeps of each marker, read with a
/// <see cref="Utf8JsonReader"/> that checks and skips the outputs and consumed artifacts instead of making objects of
/// them: two to three times faster than <see cref="RunRecords.DeserializeCommitRecord"/> on a million-task run's
/// records (benchmarks: <c>e2e --only ui</c>).
/// </summary>
/// <remarks>
/// It reads records of the shape the writers give (every member of the type it should be, no member twice); the
/// set-aside and shard parts are read by the serializer, as <see cref="RunRecords.DeserializeCommitRecord"/> reads them.
/// Anything else — a member null or missing, a reference or staged output, a number where a string should be, invalid
/// JSON — sends the whole record to <see cref="RunRecords.DeserializeCommitRecord"/>, which reads it or refuses it as
/// it always does: what is read and what is refused (with the same <see cref="InvalidDataException"/>) stay its.
/// </remarks>
internal static class WatchedRecords
{
    /// <summary>Reads a commit record stored under <paramref name="key"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a commit record of a version this library reads.</exception>
    public static WatchedRecord Read(ReadOnlySpan<byte> utf8Json, string key)
    {
        if (TryReadFast(utf8Json) is { } record)
        {
            return record;
        }

        var full = RunRecords.DeserializeCommitRecord(utf8Json, key);
        return new WatchedRecord(full.RunId, [.. full.Markers.Select(WatchedMarker.Of)], full.SetAside, full.Shard);
    }

    /// <summary>The record when it has the writers' shape; <see langword="null"/> when it must be read by the serializer.</summary>
    internal static WatchedRecord? TryReadFast(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            return TryRead(utf8Json);
        }
        catch (JsonException)
        {
            return null;
        }
        catch (InvalidOperationException)
        {
            // A string that is not UTF-8, or a token of another type than asked for: the serializer decides.
            return null;
        }
    }

    private static WatchedRecord? TryRead(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        // Absent, the serializer reads 0 (it sets every init-only member): left to it.
        int? version = null;
        string? runId = null;
        List<WatchedMarker>? markers = null;
        IReadOnlyList<SetAsideCommit>? setAside = null;
        ShardRun? shard = null;
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var member = Member(ref reader, ref seen, s_recordMembers);
            reader.Read();
            switch (member)
            {
                case 0 when reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var v):
                    version = v;
                    break;
                case 1 when reader.TokenType == JsonTokenType.String:
                    runId = reader.GetString();
                    break;
                case 2 when reader.TokenType == JsonTokenType.StartArray:
                    markers = ReadMarkers(ref reader);
                    if (markers is null)
                    {
                        return null;
                    }

                    break;
                case 3:
                    setAside = JsonSerializer.Deserialize(ref reader, RunJsonContext.Default.IReadOnlyListSetAsideCommit);
                    if (setAside is not null && setAside.Contains(null!))
                    {
                        return null;
                    }

                    break;
                case 4:
                    shard = JsonSerializer.Deserialize(ref reader, RunJsonContext.Default.ShardRun);
                    break;
                case -1:
                    // A member the record type does not have: the serializer skips it too.
                    reader.Skip();
                    break;
                default:
                    return null;
            }
        }

        return reader.TokenType == JsonTokenType.EndObject && !reader.Read() && version is >= 1 and <= CommitRecord.CurrentSchemaVersion && runId is not null && markers is not null
            ? new WatchedRecord(runId, markers, setAside, shard)
            : null;
    }

    private static readonly byte[][] s_recordMembers = [.. new[] { "schemaVersion", "runId", "markers", "setAside", "shard" }.Select(System.Text.Encoding.UTF8.GetBytes)];

    private static readonly byte[][] s_markerMembers = [.. new[] { "task", "attemptId", "attempt", "committedAt", "durationMs", "worker", "outputs", "bytesRead", "bytesWritten", "cachedFrom", "consumed" }.Select(System.Text.Encoding.UTF8.GetBytes)];

    private static readonly byte[][] s_outputMembers = [.. new[] { "name", "size", "key", "checksum", "eTag", "segments", "staged" }.Select(System.Text.Encoding.UTF8.GetBytes)];

    private static readonly byte[][] s_consumedMembers = [.. new[] { "task", "output", "attemptId" }.Select(System.Text.Encoding.UTF8.GetBytes)];

    /// <summary>
    /// The index of the current property name in <paramref name="members"/>, or -1 for another name; -2 for a member
    /// already seen (the serializer's last-wins is left to it), or a name with escapes.
    /// </summary>
    private static int Member(ref Utf8JsonReader reader, ref int seen, byte[][] members)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            return -2;
        }

        // The writers write the members in this order: the one after the last seen is tried first.
        var next = 32 - int.LeadingZeroCount(seen);
        var name = reader.ValueSpan;
        var found = next < members.Length && name.SequenceEqual(members[next]) ? next : IndexOf(members, name);
        if (found < 0)
        {
            return -1;
        }

        if ((seen & (1 << found)) != 0)
        {
            return -2;
        }

        seen |= 1 << found;
        return found;
    }

    private static int IndexOf(byte[][] members, ReadOnlySpan<byte> name)
    {
        for (var i = 0; i < members.Length; i++)
        {
            if (name.SequenceEqual(members[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The markers of the array the reader is at the start of; <see langword="null"/> when one is not of the writers' shape.</summary>
    private static List<WatchedMarker>? ReadMarkers(ref Utf8JsonReader reader)
    {
        var markers = new List<WatchedMarker>();
        var workers = new List<string>();
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            if (ReadMarker(ref reader, workers) is not { } marker)
            {
                return null;
            }

            markers.Add(marker);
        }

        return reader.TokenType == JsonTokenType.EndArray ? markers : null;
    }

    private static WatchedMarker? ReadMarker(ref Utf8JsonReader reader, List<string> workers)
    {
        var fields = new MarkerFields { Workers = workers };
        var seen = ReadObject(ref reader, s_markerMembers, ref fields, static (ref Utf8JsonReader reader, int member, ref MarkerFields f) => member switch
        {
            0 => TryTask(ref reader, out f.Task),
            1 => reader.TokenType == JsonTokenType.String && (f.AttemptId = reader.GetString()) is not null,
            2 => reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out f.Attempt),
            3 => reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out f.CommittedAt),
            4 => reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out f.DurationMs),
            5 => reader.TokenType == JsonTokenType.Null || (reader.TokenType == JsonTokenType.String && (f.Worker = Worker(ref reader, f.Workers)) is not null),
            6 => reader.TokenType == JsonTokenType.StartArray && SkipArray(ref reader, s_outputMembers, CheckOutput, OutputRequired),
            7 => TryLong(ref reader, out f.BytesRead),
            8 => TryLong(ref reader, out f.BytesWritten),
            9 => reader.TokenType == JsonTokenType.Null || (IsString(ref reader) && (f.Cached = true)),
            10 => reader.TokenType == JsonTokenType.StartArray && SkipArray(ref reader, s_consumedMembers, CheckConsumed, ConsumedRequired),
            _ => false,
        });

        // Every required member.
        const int Required = 1 << 0 | 1 << 1 | 1 << 2 | 1 << 3 | 1 << 4 | 1 << 6 | 1 << 10;
        return seen >= 0 && (seen & Required) == Required
            ? new WatchedMarker(fields.Task, fields.AttemptId!, fields.Attempt, fields.CommittedAt, fields.DurationMs, fields.Worker, fields.BytesRead, fields.BytesWritten, fields.Cached)
            : null;
    }

    /// <summary>A marker's members as they are read.</summary>
    private struct MarkerFields
    {
        public TaskId Task;
        public string? AttemptId;
        public int Attempt;
        public DateTimeOffset CommittedAt;
        public long DurationMs;
        public string? Worker;
        public long? BytesRead;
        public long? BytesWritten;
        public bool Cached;
        public List<string> Workers;
    }

    private delegate bool MemberReader<TState>(ref Utf8JsonReader reader, int member, ref TState state);

    /// <summary>
    /// Reads the members of the object the reader is at the start of, each known one with <paramref name="read"/> (by
    /// its index in <paramref name="members"/>), skipping others as the serializer does; returns the members seen (a
    /// bit each), or -1 when one is not of the writers' shape.
    /// </summary>
    private static int ReadObject<TState>(ref Utf8JsonReader reader, byte[][] members, ref TState state, MemberReader<TState> read)
    {
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var member = Member(ref reader, ref seen, members);
            reader.Read();
            if (!(member == -1 ? reader.TrySkip() : member >= 0 && read(ref reader, member, ref state)))
            {
                return -1;
            }
        }

        return reader.TokenType == JsonTokenType.EndObject ? seen : -1;
    }

    /// <summary>
    /// Checks the objects of the array the reader is at the start of, with <paramref name="check"/> for their members,
    /// each having the <paramref name="required"/> ones; none is kept.
    /// </summary>
    private static bool SkipArray(ref Utf8JsonReader reader, byte[][] members, MemberReader<bool> check, int required)
    {
        var none = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            if (ReadObject(ref reader, members, ref none, check) is var seen && (seen < 0 || (seen & required) != required))
            {
                return false;
            }
        }

        return reader.TokenType == JsonTokenType.EndArray;
    }

    /// <summary>Name, size and key (a data output: not a reference, not staged).</summary>
    private const int OutputRequired = 1 << 0 | 1 << 1 | 1 << 2;

    /// <summary>A data output's members of their types, unread.</summary>
    private static bool CheckOutput(ref Utf8JsonReader reader, int member, ref bool none) => member switch
    {
        0 or 2 => IsString(ref reader),
        1 => reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out _),
        3 or 4 => reader.TokenType == JsonTokenType.Null || IsString(ref reader),
        5 or 6 => reader.TokenType == JsonTokenType.Null,
        _ => false,
    };

    /// <summary>All three members of a consumed artifact.</summary>
    private const int ConsumedRequired = 0b111;

    /// <summary>A consumed artifact's members: strings, its task a task id.</summary>
    private static bool CheckConsumed(ref Utf8JsonReader reader, int member, ref bool none) => member switch
    {
        0 => TryTask(ref reader, out _),
        1 or 2 => IsString(ref reader),
        _ => false,
    };

    /// <summary>A task id, parsed as the serializer's converter parses it, without making a string of it.</summary>
    private static bool TryTask(ref Utf8JsonReader reader, out TaskId task)
    {
        task = default;
        if (reader.TokenType != JsonTokenType.String)
        {
            return false;
        }

        if (reader.HasValueSequence || reader.ValueSpan.Length > 64)
        {
            return reader.GetString() is { } whole && TaskId.TryParse(whole, out task);
        }

        Span<char> text = stackalloc char[64];
        return TaskId.TryParse(text[..reader.CopyString(text)], out task);
    }

    /// <summary>A worker's name: one string per name a record repeats (a batch of thousands of markers has a few workers).</summary>
    private static string Worker(ref Utf8JsonReader reader, List<string> names)
    {
        foreach (var name in names)
        {
            if (reader.ValueTextEquals(name))
            {
                return name;
            }
        }

        var read = reader.GetString()!;
        if (names.Count < 16)
        {
            names.Add(read);
        }

        return read;
    }

    private static bool TryLong(ref Utf8JsonReader reader, out long? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var v))
        {
            value = v;
            return true;
        }

        return false;
    }

    /// <summary>
    /// A string the serializer would read: the reader checks a string's JSON as it passes it, not its UTF-8, which
    /// <see cref="Utf8JsonReader.GetString"/> (what the serializer calls) refuses.
    /// </summary>
    private static bool IsString(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String
        && (reader.ValueIsEscaped || reader.HasValueSequence ? reader.GetString() is not null : System.Text.Unicode.Utf8.IsValid(reader.ValueSpan));
}
