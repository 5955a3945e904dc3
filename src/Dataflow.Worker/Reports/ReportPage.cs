using System.Globalization;
using System.Text;

namespace Dataflow.Worker;

/// <summary>Writes the HTML of one <see cref="RunReport"/> (see <see cref="RunReportHtml"/>).</summary>
internal sealed class ReportPage
{
    public const double LabelWidth = 150;
    public const double PlotWidth = 1110;
    public const double RightPad = 24;
    public const double SvgWidth = LabelWidth + PlotWidth + RightPad;
    public const double MinBarWidth = 2;

    // Tableau-like, without its red and grey: red marks failures and grey cancellations.
    private static readonly string[] s_palette =
    [
        "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7", "#9c755f", "#8cd17d", "#a0cbe8",
    ];

    private const string FailedColour = "#c62828";
    private const string CancelledColour = "#c4c4c4";
    private const int TitleErrorChars = 400;
    private const int PhaseTones = 5;

    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    private readonly RunReport _report;
    private readonly int _maxBars;
    private readonly StringBuilder _html;
    private readonly Dictionary<int, StageReport> _stages = [];
    private readonly List<string> _laneNames = [];
    private readonly List<List<AttemptReport>> _lanes = [];
    private readonly double _totalMs;
    private readonly double _pxPerMs;
    private readonly double _tickStep;

    public ReportPage(RunReport report, int maxBars)
    {
        _report = report;
        _maxBars = maxBars;
        _html = new StringBuilder(16_384 + (Math.Min(report.Attempts.Count, maxBars) * 600));
        foreach (var stage in report.Stages)
        {
            _stages.TryAdd(stage.Index, stage);
        }

        // Rows come from the report; an attempt on a row the list lacks still gets a lane rather than vanishing.
        var lanes = report.Rows.Count;
        var unknownRow = false;
        foreach (var attempt in report.Attempts)
        {
            lanes = Math.Max(lanes, attempt.Row + 1);
            unknownRow |= attempt.Row < 0;
        }

        for (var i = 0; i < lanes; i++)
        {
            _laneNames.Add(i < report.Rows.Count ? report.Rows[i] : string.Create(s_inv, $"row {i}"));
            _lanes.Add([]);
        }

        if (unknownRow)
        {
            _laneNames.Add("(unknown row)");
            _lanes.Add([]);
        }

        foreach (var attempt in report.Attempts)
        {
            _lanes[attempt.Row >= 0 ? attempt.Row : lanes].Add(attempt);
        }

        foreach (var lane in _lanes)
        {
            lane.Sort((a, b) => a.StartMs.CompareTo(b.StartMs));
        }

        var total = Math.Max(1.0, report.Summary.WallMs);
        foreach (var attempt in report.Attempts)
        {
            total = Math.Max(total, Math.Max(attempt.StartMs, attempt.EndMs));
        }

        foreach (var phase in report.Phases)
        {
            total = Math.Max(total, phase.EndMs);
        }

        _totalMs = double.IsFinite(total) ? total : 1;
        _pxPerMs = PlotWidth / _totalMs;
        _tickStep = ReportText.TickStep(_totalMs);
    }

    public string Render()
    {
        var summary = _report.Summary;
        _html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
            .AppendEscaped(summary.Job).Append(" \u00b7 run ").AppendEscaped(summary.RunId).Append(" \u00b7 Dataflow</title>\n<style>")
            .Append(Css).Append("</style>\n</head>\n<body>\n<main>\n");
        Header();
        Timeline();
        StageTable();
        _html.Append("<footer>Dataflow run report, schema version ").Append(_report.SchemaVersion.ToString(s_inv))
            .Append(". The report's data is embedded in this page: <code>script#report-data</code>.</footer>\n</main>\n");
        EmbeddedJson();
        _html.Append("</body>\n</html>\n");
        return _html.ToString();
    }

    private void Header()
    {
        var summary = _report.Summary;
        var status = summary.Status;
        var statusClass = status is "succeeded" or "failed" or "cancelled" ? status : "other";
        _html.Append("<header>\n<div class=\"kicker\">Dataflow run report</div>\n<h1><span id=\"job\">").AppendEscaped(summary.Job)
            .Append("</span> <span id=\"status\" class=\"status status-").Append(statusClass).Append("\">").AppendEscaped(status)
            .Append("</span></h1>\n<div class=\"sub\">run <code id=\"run-id\">").AppendEscaped(summary.RunId).Append("</code> \u00b7 started ")
            .Append(_report.StartedAt.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", s_inv));
        if (summary.Verified)
        {
            _html.Append(" \u00b7 <span class=\"verified\">output verified</span>");
        }

        _html.Append("</div>\n");
        if (summary.Error is { } error)
        {
            _html.Append("<div class=\"error\" id=\"run-error\"><div class=\"error-title\">Error</div><pre>").AppendEscaped(error).Append("</pre></div>\n");
        }

        _html.Append("<dl class=\"facts\">\n");
        Fact("Wall time", ReportText.Duration(summary.WallMs));
        Fact("Tasks", ReportText.Count(summary.Tasks), $"in {ReportText.Count(summary.Stages)} stage{(summary.Stages == 1 ? "" : "s")}");
        Fact("Run", ReportText.Count(summary.TasksRun));
        Fact("Skipped", ReportText.Count(summary.TasksSkipped), "committed earlier");
        Fact("Attempts", ReportText.Count(summary.Attempts));
        Fact("Retries", ReportText.Count(summary.Retries));
        Fact("Failed", ReportText.Count(summary.Failed), null, summary.Failed > 0 ? "bad" : null);
        Fact("Read", ReportText.Bytes(summary.BytesRead));
        Fact("Written", ReportText.Bytes(summary.BytesWritten));
        Fact("Executor", _report.Executor);
        _html.Append("</dl>\n<div class=\"output\">Output <code id=\"output\">").AppendEscaped(summary.Output ?? "none published").Append("</code>");
        if (summary.IntermediateObjectsLeft > 0)
        {
            _html.Append(" \u00b7 ").Append(ReportText.Count(summary.IntermediateObjectsLeft)).Append(" intermediate objects left in the store");
        }

        _html.Append("</div>\n</header>\n");
    }

    private void Fact(string name, string value, string? note = null, string? valueClass = null)
    {
        _html.Append("<div><dt>").AppendEscaped(name).Append("</dt><dd");
        if (valueClass is not null)
        {
            _html.Append(" class=\"").Append(valueClass).Append('"');
        }

        _html.Append('>').AppendEscaped(value);
        if (note is not null)
        {
            _html.Append(" <small>").AppendEscaped(note).Append("</small>");
        }

        _html.Append("</dd></div>\n");
    }

    private void Timeline()
    {
        var bars = TimelineBars.Build(_lanes, _report.Attempts.Count, _pxPerMs, PlotWidth, _maxBars);
        _html.Append("<section id=\"timeline-section\">\n<h2>Timeline</h2>\n");
        Legend();
        if (bars.Merged)
        {
            _html.Append("<p class=\"note\" id=\"timeline-note\">The timeline shows ")
                .Append(ReportText.Count(bars.AttemptsShown)).Append(" of ").Append(ReportText.Count(_report.Attempts.Count))
                .Append(" attempts as ").Append(ReportText.Count(bars.Bars.Count)).Append(" bars: consecutive attempts of one stage on a row, together narrower than ")
                .Append(ReportText.Px(bars.MergedBelowPx)).Append(" px, are merged into one bar (its tooltip says how many)");
            if (bars.AttemptsShown < _report.Attempts.Count)
            {
                _html.Append(", and only the earliest ").Append(ReportText.Count(bars.Bars.Count)).Append(" bars are drawn");
            }

            _html.Append(". The stage table below counts every attempt.</p>\n");
        }

        _html.Append("<div class=\"timeline\" id=\"timeline\" data-bars=\"").Append(bars.Bars.Count.ToString(s_inv))
            .Append("\" data-attempts=\"").Append(_report.Attempts.Count.ToString(s_inv))
            .Append("\" data-attempts-shown=\"").Append(bars.AttemptsShown.ToString(s_inv)).Append("\">\n");
        Axis();
        Lanes(bars.Bars);
        _html.Append("</div>\n");
        PhaseList();
        _html.Append("</section>\n");
    }

    private void Legend()
    {
        _html.Append("<div class=\"legend\" id=\"legend\">");
        foreach (var stage in _report.Stages)
        {
            _html.Append("<span class=\"key\" data-stage=\"").Append(stage.Index.ToString(s_inv)).Append("\"><i style=\"background:")
                .Append(Colour(stage.Index)).Append("\"></i>").AppendEscaped(stage.Name).Append("</span>");
        }

        _html.Append("<span class=\"key outcome\"><i class=\"swatch-failed\"></i>failed attempt</span>")
            .Append("<span class=\"key outcome\"><i class=\"swatch-cancelled\"></i>cancelled attempt</span></div>\n");
    }

    private double X(double ms) => LabelWidth + (Math.Clamp(ms, 0, _totalMs) * _pxPerMs);

    private void Axis()
    {
        const double PhaseTop = 2, PhaseHeight = 18, TickTop = 26, Height = 46;
        _html.Append("<svg class=\"axis\" width=\"").Append(ReportText.Px(SvgWidth)).Append("\" height=\"").Append(ReportText.Px(Height))
            .Append("\" viewBox=\"0 0 ").Append(ReportText.Px(SvgWidth)).Append(' ').Append(ReportText.Px(Height))
            .Append("\" role=\"img\" aria-label=\"phases and time axis\">\n");
        _html.Append("<text class=\"lane-label\" x=\"").Append(ReportText.Px(LabelWidth - 8)).Append("\" y=\"").Append(ReportText.Px(PhaseTop + 13))
            .Append("\" text-anchor=\"end\">phases</text>\n");
        var index = 0;
        foreach (var phase in _report.Phases)
        {
            var x = X(phase.StartMs);
            var width = Math.Max(MinBarWidth, X(phase.EndMs) - x);
            _html.Append("<g class=\"phase\" data-phase=\"").AppendEscaped(phase.Name).Append("\"><rect x=\"").Append(ReportText.Px(x))
                .Append("\" y=\"").Append(ReportText.Px(PhaseTop)).Append("\" width=\"").Append(ReportText.Px(width))
                .Append("\" height=\"").Append(ReportText.Px(PhaseHeight)).Append("\" class=\"phase-").Append((index++ % PhaseTones).ToString(s_inv))
                .Append("\"><title>").AppendEscaped(phase.Name).Append(": ").Append(ReportText.Duration(phase.EndMs - phase.StartMs))
                .Append(" (").Append(ReportText.Duration(phase.StartMs)).Append(" \u2192 ").Append(ReportText.Duration(phase.EndMs)).Append(")</title></rect>");
            // Only a name that fits (at about 6.5 px a character) is written inside its segment.
            if (width > (phase.Name.Length * 6.5) + 8)
            {
                _html.Append("<text x=\"").Append(ReportText.Px(x + 4)).Append("\" y=\"").Append(ReportText.Px(PhaseTop + 13)).Append("\">")
                    .AppendEscaped(phase.Name).Append("</text>");
            }

            _html.Append("</g>\n");
        }

        for (var t = 0.0; t <= _totalMs + (_tickStep / 1000); t += _tickStep)
        {
            var x = X(t);
            _html.Append("<line class=\"tick\" x1=\"").Append(ReportText.Px(x)).Append("\" x2=\"").Append(ReportText.Px(x))
                .Append("\" y1=\"").Append(ReportText.Px(TickTop)).Append("\" y2=\"").Append(ReportText.Px(TickTop + 5))
                .Append("\"/><text class=\"tick-label\" x=\"").Append(ReportText.Px(x)).Append("\" y=\"").Append(ReportText.Px(TickTop + 17))
                .Append("\" text-anchor=\"").Append(t == 0 ? "start" : x > LabelWidth + PlotWidth - 12 ? "end" : "middle").Append("\">").Append(ReportText.Tick(t, _tickStep)).Append("</text>\n");
        }

        _html.Append("<line class=\"axis-line\" x1=\"").Append(ReportText.Px(LabelWidth)).Append("\" x2=\"").Append(ReportText.Px(LabelWidth + PlotWidth))
            .Append("\" y1=\"").Append(ReportText.Px(TickTop)).Append("\" y2=\"").Append(ReportText.Px(TickTop)).Append("\"/>\n</svg>\n");
    }

    private void Lanes(IReadOnlyList<TimelineBar> bars)
    {
        // A few slots get roomy rows; hundreds of pods get thin ones in a scrolling box.
        var rowHeight = _lanes.Count <= 24 ? 24.0 : 14.0;
        var barPad = rowHeight > 20 ? 4.0 : 2.0;
        var height = Math.Max(1, _lanes.Count) * rowHeight;
        _html.Append("<div class=\"lanes\">\n<svg width=\"").Append(ReportText.Px(SvgWidth)).Append("\" height=\"").Append(ReportText.Px(height))
            .Append("\" viewBox=\"0 0 ").Append(ReportText.Px(SvgWidth)).Append(' ').Append(ReportText.Px(height))
            .Append("\" role=\"img\" aria-label=\"task attempts by row\">\n<defs>");
        foreach (var colourIndex in bars.Where(b => b.Outcome == AttemptOutcomes.Failed).Select(b => ColourIndex(b.Stage)).Distinct())
        {
            _html.Append("<pattern id=\"failed-").Append(colourIndex.ToString(s_inv))
                .Append("\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"")
                .Append(s_palette[colourIndex]).Append("\"/><rect width=\"2.5\" height=\"6\" fill=\"").Append(FailedColour).Append("\"/></pattern>");
        }

        _html.Append("</defs>\n");
        for (var lane = 0; lane < _lanes.Count; lane++)
        {
            var y = lane * rowHeight;
            _html.Append("<g class=\"lane\" data-row=\"").Append(lane.ToString(s_inv)).Append("\"><rect class=\"lane-bg lane-").Append((lane % 2).ToString(s_inv))
                .Append("\" x=\"0\" y=\"").Append(ReportText.Px(y)).Append("\" width=\"").Append(ReportText.Px(SvgWidth)).Append("\" height=\"").Append(ReportText.Px(rowHeight))
                .Append("\"/><text class=\"lane-label\" x=\"").Append(ReportText.Px(LabelWidth - 8)).Append("\" y=\"").Append(ReportText.Px(y + (rowHeight / 2) + 4))
                .Append("\" text-anchor=\"end\">");
            var name = _laneNames[lane];
            if (name.Length > 20)
            {
                // Pod names share their job's prefix and differ at the end: the middle is what can go.
                _html.Append("<title>").AppendEscaped(name).Append("</title>").AppendEscaped(name[..7]).Append('\u2026').AppendEscaped(name[^12..]);
            }
            else
            {
                _html.Append(ReportText.Escape(name));
            }

            _html.Append("</text></g>\n");
        }

        for (var t = _tickStep; t <= _totalMs + (_tickStep / 1000); t += _tickStep)
        {
            _html.Append("<line class=\"grid\" x1=\"").Append(ReportText.Px(X(t))).Append("\" x2=\"").Append(ReportText.Px(X(t)))
                .Append("\" y1=\"0\" y2=\"").Append(ReportText.Px(height)).Append("\"/>");
        }

        _html.Append("<line class=\"axis-line\" x1=\"").Append(ReportText.Px(LabelWidth)).Append("\" x2=\"").Append(ReportText.Px(LabelWidth))
            .Append("\" y1=\"0\" y2=\"").Append(ReportText.Px(height)).Append("\"/>\n");
        foreach (var bar in bars)
        {
            Bar(bar, (bar.Lane * rowHeight) + barPad, rowHeight - (2 * barPad));
        }

        _html.Append("</svg>\n</div>\n");
    }

    private void Bar(TimelineBar bar, double y, double height)
    {
        var x = X(bar.StartMs);
        var width = Math.Max(MinBarWidth, X(bar.EndMs) - x);
        x = Math.Min(x, LabelWidth + PlotWidth - width);
        var stage = StageName(bar.Stage);
        var fill = bar.Outcome switch
        {
            AttemptOutcomes.Failed => string.Create(s_inv, $"url(#failed-{ColourIndex(bar.Stage)})"),
            AttemptOutcomes.Cancelled => CancelledColour,
            _ => Colour(bar.Stage),
        };
        _html.Append("<rect class=\"task-bar\" x=\"").Append(ReportText.Px(x)).Append("\" y=\"").Append(ReportText.Px(y))
            .Append("\" width=\"").Append(ReportText.Px(width)).Append("\" height=\"").Append(ReportText.Px(height))
            .Append("\" fill=\"").Append(fill).Append('"');
        if (bar.Outcome == AttemptOutcomes.Failed)
        {
            _html.Append(" stroke=\"").Append(FailedColour).Append('"');
        }

        _html.Append(" data-stage=\"").Append(bar.Stage.ToString(s_inv)).Append('"');
        if (bar.Count == 1)
        {
            _html.Append(" data-task=\"").Append(bar.First.Task.ToString(s_inv)).Append("\" data-attempt=\"").Append(bar.First.Attempt.ToString(s_inv)).Append('"');
        }
        else
        {
            _html.Append(" data-count=\"").Append(bar.Count.ToString(s_inv)).Append("\" data-tasks=\"").Append(bar.FirstTask.ToString(s_inv))
                .Append('-').Append(bar.LastTask.ToString(s_inv)).Append('"');
        }

        _html.Append(" data-row=\"").Append(bar.Lane.ToString(s_inv)).Append("\" data-outcome=\"").AppendEscaped(bar.Outcome).Append("\"><title>")
            .AppendEscaped(stage).Append(" (stage ").Append(bar.Stage.ToString(s_inv)).Append(")\n");
        if (bar.Count == 1)
        {
            _html.Append("task ").Append(bar.First.Task.ToString(s_inv)).Append(", attempt ").Append(bar.First.Attempt.ToString(s_inv));
        }
        else
        {
            _html.Append(ReportText.Count(bar.Count)).Append(" attempts, tasks ").Append(bar.FirstTask.ToString(s_inv)).Append('\u2013').Append(bar.LastTask.ToString(s_inv));
        }

        _html.Append(": ").AppendEscaped(bar.Outcome).Append(" after ").Append(ReportText.Duration(bar.EndMs - bar.StartMs))
            .Append('\n').Append(ReportText.Duration(bar.StartMs)).Append(" \u2192 ").Append(ReportText.Duration(bar.EndMs))
            .Append(" \u00b7 read ").Append(ReportText.Bytes(bar.BytesRead)).Append(", wrote ").Append(ReportText.Bytes(bar.BytesWritten));
        if (bar.Count == 1 && bar.First.Error is { } error)
        {
            _html.Append('\n').AppendEscaped(error.Length > TitleErrorChars ? error[..TitleErrorChars] + "\u2026" : error);
        }

        _html.Append("</title></rect>\n");
    }

    private void PhaseList()
    {
        if (_report.Phases.Count == 0)
        {
            return;
        }

        _html.Append("<ol class=\"phases\" id=\"phases\">");
        var index = 0;
        foreach (var phase in _report.Phases)
        {
            _html.Append("<li><i class=\"phase-").Append((index++ % PhaseTones).ToString(s_inv)).Append("\"></i>").AppendEscaped(phase.Name).Append(" <b>")
                .Append(ReportText.Duration(phase.EndMs - phase.StartMs)).Append("</b></li>");
        }

        _html.Append("</ol>\n");
    }

    private void StageTable()
    {
        _html.Append("<section id=\"stages-section\">\n<h2>Stages</h2>\n<table id=\"stages\">\n<thead><tr><th class=\"name\">Stage</th>")
            .Append("<th>Tasks</th><th>Committed</th><th>Skipped</th><th>Failed</th><th>Attempts</th><th>Retries</th>")
            .Append("<th>Read</th><th>Written</th><th>Start</th><th>End</th><th>Median task</th><th>Max task</th></tr></thead>\n<tbody>\n");
        foreach (var stage in _report.Stages)
        {
            _html.Append("<tr class=\"stage-row\" data-stage=\"").Append(stage.Index.ToString(s_inv)).Append("\"><td class=\"name\"><i style=\"background:")
                .Append(Colour(stage.Index)).Append("\"></i>").AppendEscaped(stage.Name).Append("</td>");
            Cell(ReportText.Count(stage.Tasks));
            Cell(ReportText.Count(stage.Committed));
            Cell(ReportText.Count(stage.Skipped));
            Cell(ReportText.Count(stage.Failed), stage.Failed > 0 ? "bad" : null);
            Cell(ReportText.Count(stage.Attempts));
            Cell(ReportText.Count(stage.Retries));
            Cell(ReportText.Bytes(stage.BytesRead));
            Cell(ReportText.Bytes(stage.BytesWritten));
            Cell(OptionalDuration(stage.StartMs));
            Cell(OptionalDuration(stage.EndMs));
            Cell(OptionalDuration(stage.MedianTaskMs));
            Cell(OptionalDuration(stage.MaxTaskMs));
            _html.Append("</tr>\n");
        }

        _html.Append("</tbody>\n</table>\n<p class=\"hint\">Start and end are times since the run started; task times are of committed attempts.</p>\n</section>\n");
    }

    private void Cell(string text, string? extraClass = null) =>
        _html.Append("<td class=\"num").Append(extraClass is null ? "" : " " + extraClass).Append("\">").AppendEscaped(text).Append("</td>");

    private static string OptionalDuration(double? ms) => ms is { } value ? ReportText.Duration(value) : "\u2013";

    private void EmbeddedJson()
    {
        var report = _report;
        var embedded = _report.Attempts.Count;
        if (embedded > _maxBars)
        {
            // The interesting attempts first: every failed or cancelled one the cap allows, then the earliest committed ones.
            var keep = new HashSet<AttemptReport>(ReferenceEqualityComparer.Instance);
            foreach (var attempt in _report.Attempts.Where(a => a.Outcome != AttemptOutcomes.Committed).Take(_maxBars))
            {
                keep.Add(attempt);
            }

            foreach (var attempt in _report.Attempts.Where(a => a.Outcome == AttemptOutcomes.Committed).Take(_maxBars - keep.Count))
            {
                keep.Add(attempt);
            }

            report = _report with { Attempts = _report.Attempts.Where(keep.Contains).ToList() };
            embedded = report.Attempts.Count;
        }

        var json = Encoding.UTF8.GetString(RunRecords.Serialize(report));
        _html.Append("<script type=\"application/json\" id=\"report-data\" data-attempts=\"").Append(_report.Attempts.Count.ToString(s_inv))
            .Append("\" data-attempts-embedded=\"").Append(embedded.ToString(s_inv)).Append("\">")
            .Append(ReportText.ScriptSafeJson(json)).Append("</script>\n");
    }

    private string StageName(int index) => _stages.TryGetValue(index, out var stage) ? stage.Name : string.Create(s_inv, $"stage {index}");

    private static int ColourIndex(int stage) => ((stage % s_palette.Length) + s_palette.Length) % s_palette.Length;

    private static string Colour(int stage) => s_palette[ColourIndex(stage)];

    private const string Css = """

        :root { color-scheme: light; --ink: #1f2933; --muted: #637083; --line: #e3e7ec; --bad: #c62828; }
        * { box-sizing: border-box; }
        body { margin: 0; background: #f4f6f8; color: var(--ink);
          font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
        main { max-width: 1380px; margin: 0 auto; padding: 20px 24px 32px; }
        header, section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin-bottom: 16px; }
        .kicker { text-transform: uppercase; letter-spacing: .08em; font-size: 11px; color: var(--muted); }
        h1 { font-size: 22px; margin: 2px 0 2px; display: flex; align-items: center; gap: 12px; flex-wrap: wrap; word-break: break-all; }
        h2 { font-size: 15px; margin: 0 0 10px; }
        code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
        .sub { color: var(--muted); }
        .status { font-size: 12px; font-weight: 600; padding: 3px 10px; border-radius: 999px; color: #fff; background: #607080; text-transform: uppercase; letter-spacing: .05em; }
        .status-succeeded { background: #2e7d32; } .status-failed { background: var(--bad); } .status-cancelled { background: #b26a00; }
        .verified { color: #2e7d32; }
        .error { margin: 12px 0 4px; border: 1px solid #f1b4b4; background: #fdf0f0; border-radius: 6px; padding: 8px 12px; }
        .error-title { color: var(--bad); font-weight: 600; font-size: 12px; }
        .error pre { margin: 4px 0 0; white-space: pre-wrap; word-break: break-word; max-height: 12em; overflow: auto; font-size: 12.5px; }
        .facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px 16px; margin: 14px 0 10px; }
        .facts div { border-left: 3px solid var(--line); padding-left: 10px; }
        .facts dt { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
        .facts dd { margin: 0; font-size: 17px; font-weight: 600; font-variant-numeric: tabular-nums; }
        .facts dd small { font-size: 11px; font-weight: 400; color: var(--muted); }
        .bad { color: var(--bad); }
        .output { color: var(--muted); word-break: break-all; }
        .output code { color: var(--ink); }
        .legend { display: flex; flex-wrap: wrap; gap: 6px 16px; margin-bottom: 8px; font-size: 12.5px; }
        .key i, td.name i, .phases i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
        .key.outcome { color: var(--muted); }
        .swatch-failed { background: repeating-linear-gradient(45deg, #4e79a7 0 3px, #c62828 3px 5px); outline: 1px solid #c62828; }
        .swatch-cancelled { background: #c4c4c4; }
        .note { background: #fff8e1; border: 1px solid #f3dc9b; border-radius: 6px; padding: 6px 10px; font-size: 12.5px; margin: 0 0 8px; }
        .timeline { overflow-x: auto; }
        .timeline svg { display: block; font-size: 11.5px; }
        .lanes { max-height: 560px; overflow-y: auto; border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); width: max-content; }
        .lane-label { fill: #3e4c59; }
        .lane-0 { fill: #fafbfc; } .lane-1 { fill: #f1f3f6; }
        .phase-0 { fill: #cfd8dc; } .phases i.phase-0 { background: #cfd8dc; }
        .phase-1 { fill: #bbdefb; } .phases i.phase-1 { background: #bbdefb; }
        .phase-2 { fill: #c8e6c9; } .phases i.phase-2 { background: #c8e6c9; }
        .phase-3 { fill: #ffe0b2; } .phases i.phase-3 { background: #ffe0b2; }
        .phase-4 { fill: #e1bee7; } .phases i.phase-4 { background: #e1bee7; }
        .phase text { fill: #30404f; font-size: 11px; }
        .tick, .axis-line { stroke: #9aa5b1; }
        .tick-label { fill: var(--muted); }
        .grid { stroke: #dde2e8; stroke-dasharray: 2 3; }
        .task-bar:hover { stroke: #111; stroke-width: 1.5; }
        .phases { list-style: none; padding: 0; margin: 10px 0 0; display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 12.5px; color: var(--muted); }
        .phases b { color: var(--ink); font-weight: 600; }
        table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
        th { text-align: right; font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 600; padding: 6px 8px; border-bottom: 2px solid var(--line); white-space: nowrap; }
        td { padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
        th.name, td.name { text-align: left; white-space: normal; word-break: break-word; }
        td.num { text-align: right; }
        tbody tr:hover { background: #f7f9fb; }
        .hint { color: var(--muted); font-size: 12px; margin: 8px 0 0; }
        footer { color: var(--muted); font-size: 12px; text-align: center; }

        """;
}
