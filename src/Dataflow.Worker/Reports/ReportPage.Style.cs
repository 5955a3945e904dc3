namespace Dataflow.Worker;

/// <summary>The report page's style sheet, embedded in the page (it loads nothing).</summary>
internal sealed partial class ReportPage
{
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
        .swatch-backup { border: 2px dashed #1565c0; box-sizing: border-box; }
        .swatch-cached { background: #4e79a740; outline: 1px dashed #4e79a7; }
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
