namespace Dataflow.Worker;

/// <summary>
/// One bar of the timeline: a single attempt, or (when a report has more attempts than the timeline draws) several
/// consecutive attempts of one stage on one row, merged.
/// </summary>
internal sealed class TimelineBar(int lane, AttemptReport first)
{
    public int Lane { get; } = lane;

    public AttemptReport First { get; } = first;

    public int Stage => First.Stage;

    /// <summary>The attempts' common outcome, or <c>mixed</c>.</summary>
    public string Outcome { get; private set; } = first.Outcome;

    public double StartMs { get; private set; } = first.StartMs;

    public double EndMs { get; private set; } = Math.Max(first.StartMs, first.EndMs);

    public int Count { get; private set; } = 1;

    public int FirstTask { get; private set; } = first.Task;

    public int LastTask { get; private set; } = first.Task;

    public long BytesRead { get; private set; } = first.BytesRead;

    public long BytesWritten { get; private set; } = first.BytesWritten;

    public void Add(AttemptReport attempt)
    {
        if (attempt.Outcome != Outcome)
        {
            Outcome = "mixed";
        }

        StartMs = Math.Min(StartMs, attempt.StartMs);
        EndMs = Math.Max(EndMs, Math.Max(attempt.StartMs, attempt.EndMs));
        Count++;
        FirstTask = Math.Min(FirstTask, attempt.Task);
        LastTask = Math.Max(LastTask, attempt.Task);
        BytesRead += attempt.BytesRead;
        BytesWritten += attempt.BytesWritten;
    }
}

/// <summary>The bars of a timeline, at most a given number of them.</summary>
/// <param name="Bars">The bars to draw.</param>
/// <param name="Merged">Whether some bars stand for several attempts.</param>
/// <param name="MergedBelowPx">The width under which consecutive attempts of a row were merged, when they were.</param>
/// <param name="AttemptsShown">The attempts the bars stand for (all of them unless the timeline had to be cut).</param>
internal sealed record TimelineBars(IReadOnlyList<TimelineBar> Bars, bool Merged, double MergedBelowPx, int AttemptsShown)
{
    /// <summary>
    /// Lays out <paramref name="lanes"/> (each a lane's attempts in start order) as at most <paramref name="maxBars"/>
    /// bars. Within the cap every attempt is a bar. Above it, consecutive attempts of one row, stage and outcome are
    /// merged while together they stay narrower than a width that doubles until the bars fit; failing that, attempts
    /// of one stage regardless of outcome; failing that (rows alternating stages), the earliest bars are kept.
    /// Merging keeps every busy stretch of a row visible, where sampling would draw idle gaps that were not there.
    /// </summary>
    public static TimelineBars Build(IReadOnlyList<List<AttemptReport>> lanes, int attempts, double pxPerMs, double plotWidth, int maxBars)
    {
        if (attempts <= maxBars)
        {
            return new(Merge(lanes, maxMs: -1, sameOutcome: true), Merged: false, 0, attempts);
        }

        foreach (var sameOutcome in (ReadOnlySpan<bool>)[true, false])
        {
            for (var px = 2.0; px <= plotWidth * 2; px *= 2)
            {
                var bars = Merge(lanes, px / pxPerMs, sameOutcome);
                if (bars.Count <= maxBars)
                {
                    return new(bars, Merged: true, px, attempts);
                }
            }
        }

        var widest = Merge(lanes, double.PositiveInfinity, sameOutcome: false);
        var kept = widest.OrderBy(b => b.StartMs).Take(maxBars).ToList();
        return new(kept, Merged: true, plotWidth, kept.Sum(b => b.Count));
    }

    /// <summary>Merges each lane's consecutive attempts of one stage spanning at most <paramref name="maxMs"/> together (none when negative).</summary>
    private static List<TimelineBar> Merge(IReadOnlyList<List<AttemptReport>> lanes, double maxMs, bool sameOutcome)
    {
        var bars = new List<TimelineBar>();
        for (var lane = 0; lane < lanes.Count; lane++)
        {
            TimelineBar? open = null;
            foreach (var attempt in lanes[lane])
            {
                if (open is not null && maxMs >= 0 && attempt.Stage == open.Stage
                    && (!sameOutcome || attempt.Outcome == open.Outcome)
                    && Math.Max(open.EndMs, attempt.EndMs) - open.StartMs <= maxMs)
                {
                    open.Add(attempt);
                    continue;
                }

                open = new TimelineBar(lane, attempt);
                bars.Add(open);
            }
        }

        return bars;
    }
}
