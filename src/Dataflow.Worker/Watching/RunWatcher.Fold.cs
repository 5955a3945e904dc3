using System.Runtime.InteropServices;
using Dataflow.Core;

namespace Dataflow.Worker;

public sealed partial class RunWatcher
{
    private const byte Pending = 0;
    private const byte Committed = 1;
    private const byte Cached = 2;
    private const byte NotNeeded = 3;

    /// <summary>The tasks of <paramref name="records"/> (new ones) folded into the per-task numbers. Called under the gate.</summary>
    private void Fold(IReadOnlyList<WatchedRecord> records)
    {
        // Set-asides first: a record read in the same refresh as the commit it sets aside may come in any order.
        foreach (var aside in records.SelectMany(r => r.SetAside ?? []))
        {
            if (_setAside.Add((aside.Task, aside.AttemptId)) && StageOf(aside.Task) is { } stage)
            {
                SetAside(stage, aside.Task, aside.AttemptId);
            }
        }

        foreach (var marker in records.SelectMany(r => r.Markers))
        {
            if (!_setAside.Contains((marker.Task, marker.AttemptId)) && StageOf(marker.Task) is { } stage)
            {
                Add(stage, marker.Task, ToCommit(marker));
            }
        }
    }

    private StageTasks? StageOf(TaskId task) =>
        task.Stage >= 0 && task.Stage < _stages.Length && task.Index >= 0 && task.Index < _stages[task.Stage].Count ? _stages[task.Stage] : null;

    private Commit ToCommit(WatchedMarker marker)
    {
        var end = (marker.CommittedAt - _plan!.CreatedAt).TotalMilliseconds;
        return new Commit(
            marker.AttemptId,
            marker.Attempt,
            end - marker.DurationMs,
            marker.DurationMs,
            Row(marker.Worker),
            marker.BytesRead ?? 0,
            marker.BytesWritten ?? 0,
            marker.Cached);
    }

    private short Row(string? worker)
    {
        var name = worker ?? DriverRow;
        if (!_rowIndex.TryGetValue(name, out var row))
        {
            if (_rows.Count >= short.MaxValue)
            {
                // More workers than a timeline can show: the rest share the last row.
                return short.MaxValue - 1;
            }

            _rowIndex[name] = row = _rows.Count;
            _rows.Add(name);
        }

        return (short)row;
    }

    private void Add(StageTasks stage, TaskId task, Commit commit)
    {
        _lastEndMs = Math.Max(_lastEndMs, commit.StartMs + commit.DurationMs);
        var i = task.Index;
        if (stage.State[i] is Committed or Cached)
        {
            if (stage.AttemptHash[i] != Hash(commit.AttemptId))
            {
                // A second committed attempt (two workers ran the task). Readers take the smaller id; the watcher keeps
                // showing the first it read (it keeps no attempt ids per task), and this one in case that is set aside.
                stage.Others.GetOrAdd(task).Add(commit);
            }

            return;
        }

        stage.Set(i, commit);
    }

    private static void SetAside(StageTasks stage, TaskId task, string attemptId)
    {
        var i = task.Index;
        if (stage.Others.TryGetValue(task, out var others))
        {
            others.RemoveAll(c => c.AttemptId == attemptId);
        }

        if (stage.State[i] is Committed or Cached && stage.AttemptHash[i] == Hash(attemptId))
        {
            stage.Remove(i);
            if (others is { Count: > 0 })
            {
                var next = others.MinBy(c => c.AttemptId, StringComparer.Ordinal)!;
                others.Remove(next);
                stage.Set(i, next);
            }

            stage.SetAsideCount++;
        }
    }

    /// <summary>Marks tasks a run with the task cache passed over (only cached tasks read them) as done by the cache.</summary>
    private void FoldNotNeeded(IEnumerable<TaskId> tasks)
    {
        foreach (var task in tasks)
        {
            if (StageOf(task) is { } stage && stage.State[task.Index] == Pending)
            {
                stage.State[task.Index] = NotNeeded;
                stage.CachedCount++;
            }
        }
    }

    private static int Hash(string attemptId) => StringComparer.Ordinal.GetHashCode(attemptId);

    /// <summary>One committed attempt, as the watcher keeps it.</summary>
    private sealed record Commit(string AttemptId, int Attempt, double StartMs, double DurationMs, short Row, long BytesRead, long BytesWritten, bool FromCache);

    /// <summary>The tasks of one stage: a few numbers per task in arrays, so a million tasks cost tens of megabytes, not objects.</summary>
    private sealed class StageTasks(int count)
    {
        public readonly byte[] State = new byte[count];
        public readonly int[] AttemptHash = new int[count];
        public readonly byte[] Attempt = new byte[count];
        public readonly double[] StartMs = new double[count];
        public readonly float[] DurationMs = new float[count];
        public readonly short[] Row = new short[count];
        public readonly long[] BytesRead = new long[count];
        public readonly long[] BytesWritten = new long[count];
        public readonly Dictionary<TaskId, List<Commit>> Others = [];

        public int Count => State.Length;

        public int CommittedCount { get; set; }

        public int CachedCount { get; set; }

        public int SetAsideCount { get; set; }

        public long BytesReadTotal { get; private set; }

        public long BytesWrittenTotal { get; private set; }

        public void Set(int i, Commit commit)
        {
            State[i] = commit.FromCache ? Cached : Committed;
            AttemptHash[i] = Hash(commit.AttemptId);
            Attempt[i] = (byte)Math.Clamp(commit.Attempt, 0, byte.MaxValue);
            StartMs[i] = commit.StartMs;
            DurationMs[i] = (float)commit.DurationMs;
            Row[i] = commit.Row;
            BytesRead[i] = commit.BytesRead;
            BytesWritten[i] = commit.BytesWritten;
            BytesReadTotal += commit.BytesRead;
            BytesWrittenTotal += commit.BytesWritten;
            CommittedCount++;
            if (commit.FromCache)
            {
                CachedCount++;
            }
        }

        public void Remove(int i)
        {
            if (State[i] == Cached)
            {
                CachedCount--;
            }

            CommittedCount--;
            BytesReadTotal -= BytesRead[i];
            BytesWrittenTotal -= BytesWritten[i];
            State[i] = Pending;
            AttemptHash[i] = 0;
        }
    }
}

internal static class DictionaryExtensions
{
    public static List<TValue> GetOrAdd<TKey, TValue>(this Dictionary<TKey, List<TValue>> dictionary, TKey key)
        where TKey : notnull
    {
        ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(dictionary, key, out _);
        return list ??= [];
    }
}
