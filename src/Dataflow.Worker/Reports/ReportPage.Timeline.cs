namespace Dataflow.Worker;

/// <summary>The report page's timeline: an SVG with a row per worker slot, process or pod and a bar per attempt.</summary>
internal sealed partial class ReportPage
{
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
            .Append("<span class=\"key outcome\"><i class=\"swatch-cancelled\"></i>cancelled attempt</span>");
        if (_report.Attempts.Any(a => a.Outcome == AttemptOutcomes.Cached))
        {
            _html.Append("<span class=\"key outcome\"><i class=\"swatch-cached\"></i>taken from the task cache (not run)</span>");
        }

        if (_report.Attempts.Any(a => a.Speculative == true))
        {
            _html.Append("<span class=\"key outcome\"><i class=\"swatch-backup\"></i>backup attempt of a straggler (speculative)</span>");
        }

        _html.Append("</div>\n");
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
        else if (bar.Outcome == AttemptOutcomes.Cached)
        {
            // Outlined and pale: a task that did not run, whose outputs came from the cache.
            _html.Append(" fill-opacity=\"0.25\" stroke-dasharray=\"2 1\" stroke=\"").Append(Colour(bar.Stage)).Append('"');
        }

        var backup = bar.Count == 1 && bar.First.Speculative == true;
        if (backup)
        {
            // Outlined, dashed: a backup attempt started beside a straggling attempt of its task.
            _html.Append(" stroke=\"").Append(BackupColour).Append("\" stroke-width=\"2\" stroke-dasharray=\"4 2\" data-speculative=\"true\"");
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
            _html.Append("task ").Append(bar.First.Task.ToString(s_inv)).Append(", attempt ").Append(bar.First.Attempt.ToString(s_inv)).Append(backup ? " (backup)" : "");
        }
        else
        {
            _html.Append(ReportText.Count(bar.Count)).Append(" attempts, tasks ").Append(bar.FirstTask.ToString(s_inv)).Append('\u2013').Append(bar.LastTask.ToString(s_inv));
        }

        _html.Append(": ").AppendEscaped(bar.Outcome).Append(" after ").Append(ReportText.Duration(bar.EndMs - bar.StartMs))
            .Append('\n').Append(ReportText.Duration(bar.StartMs)).Append(" \u2192 ").Append(ReportText.Duration(bar.EndMs))
            .Append(" \u00b7 read ").Append(ReportText.Bytes(bar.BytesRead)).Append(", wrote ").Append(ReportText.Bytes(bar.BytesWritten));
        if (bar.Count == 1)
        {
            ResourceTitle(bar.First);
        }

        if (bar.Count == 1 && bar.First.Error is { } error)
        {
            _html.Append('\n').AppendEscaped(error.Length > TitleErrorChars ? error[..TitleErrorChars] + "\u2026" : error);
        }

        _html.Append("</title></rect>\n");
    }
}
