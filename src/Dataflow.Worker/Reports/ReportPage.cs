using System.Globalization;
using System.Text;

namespace Dataflow.Worker;

/// <summary>Writes the HTML of one <see cref="RunReport"/> (see <see cref="RunReportHtml"/>).</summary>
internal sealed partial class ReportPage
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
    private const string BackupColour = "#1565c0";
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
        Tolerated();
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
        if (summary.Cache is { } cache)
        {
            Fact("Cached", ReportText.Count(summary.TasksCached), $"taken from the task cache ({cache.Mode}); {ReportText.Count(cache.EntriesWritten)} entries added, {ReportText.Count(cache.EntriesInvalid)} not usable");
        }

        Fact("Attempts", ReportText.Count(summary.Attempts));
        Fact("Retries", ReportText.Count(summary.Retries));
        Fact("Failed", ReportText.Count(summary.Failed), null, summary.Failed > 0 ? "bad" : null);
        Fact("Read", ReportText.Bytes(summary.BytesRead));
        Fact("Written", ReportText.Bytes(summary.BytesWritten));
        ResourceFacts();
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
        // The Cached column only for a run that used the task cache: a run without it has nothing to show there.
        var cached = _report.Summary.Cache is not null || _report.Stages.Any(s => s.Cached > 0);
        var resources = HasResources;
        _html.Append("<section id=\"stages-section\">\n<h2>Stages</h2>\n<table id=\"stages\">\n<thead><tr><th class=\"name\">Stage</th>")
            .Append("<th>Tasks</th><th>Committed</th><th>Skipped</th>").Append(cached ? "<th>Cached</th>" : "").Append("<th>Failed</th><th>Attempts</th><th>Retries</th>")
            .Append("<th>Read</th><th>Written</th><th>Start</th><th>End</th><th>Median task</th><th>Max task</th>").Append(resources ? ResourceHeaders : "").Append("</tr></thead>\n<tbody>\n");
        foreach (var stage in _report.Stages)
        {
            _html.Append("<tr class=\"stage-row\" data-stage=\"").Append(stage.Index.ToString(s_inv)).Append("\"><td class=\"name\"><i style=\"background:")
                .Append(Colour(stage.Index)).Append("\"></i>").AppendEscaped(stage.Name).Append("</td>");
            Cell(ReportText.Count(stage.Tasks));
            Cell(ReportText.Count(stage.Committed));
            Cell(ReportText.Count(stage.Skipped));
            if (cached)
            {
                Cell(ReportText.Count(stage.Cached), stage.Cached > 0 ? "cached" : null);
            }

            Cell(ReportText.Count(stage.Failed), stage.Failed > 0 ? "bad" : null);
            Cell(ReportText.Count(stage.Attempts));
            Cell(ReportText.Count(stage.Retries));
            Cell(ReportText.Bytes(stage.BytesRead));
            Cell(ReportText.Bytes(stage.BytesWritten));
            Cell(OptionalDuration(stage.StartMs));
            Cell(OptionalDuration(stage.EndMs));
            Cell(OptionalDuration(stage.MedianTaskMs));
            Cell(OptionalDuration(stage.MaxTaskMs));
            if (resources)
            {
                ResourceCells(stage);
            }

            _html.Append("</tr>\n");
        }

        _html.Append("</tbody>\n</table>\n<p class=\"hint\">Start and end are times since the run started; task times are of committed attempts.")
            .Append(resources ? ResourceHint : "").Append("</p>\n</section>\n");
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

}
