using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Dataflow.Hosting;

/// <summary>The logging, tracing and metrics options of a program, and what they start.</summary>
internal sealed class TelemetryOptions
{
    private readonly AppOption<LogLevel> _level = new("--log-level", "Log messages at this level and above on stderr: trace, debug, information, warning, error, critical or none (the default: the program's own lines say what happened). Runs log their start and end at information, failed attempts at warning, tasks that failed for good at error.", LogLevel.None, "LEVEL", ParseLogLevel, null);
    private readonly AppOption<LogFormat> _format = new("--log-format", "How log messages are written: text (one line each, with the run, stage and task in scope) or json (one JSON object per line).", LogFormat.Text, "text|json", OptionParsing.ParseEnum<LogFormat>, null);
    private readonly AppOption<Uri?> _otlpEndpoint = new("--otlp-endpoint", "Export spans (run, stage, task, storage call) and metrics with OpenTelemetry's OTLP exporter (HTTP/protobuf) to this collector, e.g. http://localhost:4318. Worker processes export theirs too, under the driver's task spans.", null, "URL", ParseHttpUri, null);
    private readonly AppOption<int?> _prometheusPort = new("--prometheus-port", "Serve the metrics for Prometheus at http://localhost:PORT/metrics while the program runs.", null, "PORT", text => int.Parse(text, CultureInfo.InvariantCulture), v => v is null or (>= 1 and <= 65535) ? null : "must be between 1 and 65535");

    /// <summary>The telemetry options of driver commands (<c>run</c>, <c>resume</c>).</summary>
    public AppOption[] All => [_level, _format, _otlpEndpoint, _prometheusPort];

    /// <summary>The telemetry options a worker has, and a driver passes on to its worker processes.</summary>
    public AppOption[] ForWorkers => [_level, _format, _otlpEndpoint];

    /// <summary>
    /// Starts what the telemetry options ask for; disposing it flushes and stops the exporters. A worker's command
    /// has no <c>--prometheus-port</c> (its workers would all want the same port).
    /// </summary>
    public Telemetry Start(RunContext context, bool worker = false)
    {
        var telemetry = Telemetry.Start(
            context.ProgramName,
            context.Get(_level),
            context.Get(_format),
            context.Get(_otlpEndpoint),
            worker ? null : context.Get(_prometheusPort));
        telemetry.Attach(context.StoreLog);
        return telemetry;
    }

    private static LogLevel ParseLogLevel(string text) =>
        string.Equals(text, "info", StringComparison.OrdinalIgnoreCase) ? LogLevel.Information : OptionParsing.ParseEnum<LogLevel>(text);

    private static Uri? ParseHttpUri(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new FormatException($"'{text}' is not an http:// or https:// URL");
}
