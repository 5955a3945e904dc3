using System.Runtime.CompilerServices;
using Dataflow.Core;
using Dataflow.Storage;
using Dataflow.Worker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Dataflow.Hosting;

/// <summary>The logging, tracing and metrics options of a program, and what they start.</summary>
public sealed partial class DataflowApp
{
    private readonly AppOption<LogLevel> _logLevel = new("--log-level", "Log messages at this level and above on stderr: trace, debug, information, warning, error, critical or none (the default: the program's own lines say what happened). Runs log their start and end at information, failed attempts at warning, tasks that failed for good at error.", LogLevel.None, "LEVEL", ParseLogLevel, null);
    private readonly AppOption<LogFormat> _logFormat = new("--log-format", "How log messages are written: text (one line each, with the run, stage and task in scope) or json (one JSON object per line).", LogFormat.Text, "text|json", ParseEnum<LogFormat>, null);
    private readonly AppOption<Uri?> _otlpEndpoint = new("--otlp-endpoint", "Export spans (run, stage, task, storage call) and metrics with OpenTelemetry's OTLP exporter (HTTP/protobuf) to this collector, e.g. http://localhost:4318. Worker processes export theirs too, under the driver's task spans.", null, "URL", ParseHttpUri, null);
    private readonly AppOption<int?> _prometheusPort = new("--prometheus-port", "Serve the metrics for Prometheus at http://localhost:PORT/metrics while the program runs.", null, "PORT", text => int.Parse(text, System.Globalization.CultureInfo.InvariantCulture), v => v is null or (>= 1 and <= 65535) ? null : "must be between 1 and 65535");

    /// <summary>How log messages are written.</summary>
    internal enum LogFormat
    {
        /// <summary>One line of text each.</summary>
        Text,

        /// <summary>One JSON object per line.</summary>
        Json,
    }

    /// <summary>The telemetry options of driver commands (<c>run</c>, <c>resume</c>).</summary>
    private AppOption[] TelemetryOptions() => [_logLevel, _logFormat, _otlpEndpoint, _prometheusPort];

    /// <summary>The telemetry options a driver passes on to its worker processes.</summary>
    private AppOption[] WorkerTelemetryOptions() => [_logLevel, _logFormat, _otlpEndpoint];

    /// <summary>
    /// Starts what the telemetry options ask for; disposing it flushes and stops the exporters. A worker's command
    /// has no <c>--prometheus-port</c> (its workers would all want the same port).
    /// </summary>
    private Telemetry StartTelemetry(RunContext context, bool worker = false) =>
        Telemetry.Start(
            Name,
            context.Get(_logLevel),
            context.Get(_logFormat),
            context.Get(_otlpEndpoint),
            worker ? null : context.Get(_prometheusPort));

    private static LogLevel ParseLogLevel(string text) =>
        string.Equals(text, "info", StringComparison.OrdinalIgnoreCase) ? LogLevel.Information : ParseEnum<LogLevel>(text);

    private static Uri? ParseHttpUri(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new FormatException($"'{text}' is not an http:// or https:// URL");

    /// <summary>The logger factory and OpenTelemetry providers of one command.</summary>
    internal sealed class Telemetry : IDisposable
    {
        // As IDisposable, so that this type does not load OpenTelemetry's assemblies when nothing exports.
        private readonly IDisposable? _tracer;
        private readonly IDisposable? _meter;

        private Telemetry(ILoggerFactory loggerFactory, IDisposable? tracer, IDisposable? meter)
        {
            LoggerFactory = loggerFactory;
            _tracer = tracer;
            _meter = meter;
        }

        /// <summary>Where the command's components log.</summary>
        public ILoggerFactory LoggerFactory { get; }

        public static Telemetry Start(string program, LogLevel level, LogFormat format, Uri? otlp, int? prometheusPort)
        {
            // Without logging, exporters or a scrape endpoint none of their machinery is loaded: a short run's
            // start-up time is mostly just-in-time compilation.
            var loggerFactory = level == LogLevel.None ? NullLoggerFactory.Instance : Microsoft.Extensions.Logging.LoggerFactory.Create(logging =>
            {
                logging.SetMinimumLevel(level);

                // stderr, like the progress display: stdout stays the program's output (--json).
                logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
                if (format == LogFormat.Json)
                {
                    logging.AddJsonConsole(json => json.IncludeScopes = true);
                }
                else
                {
                    logging.AddSimpleConsole(text =>
                    {
                        text.IncludeScopes = true;
                        text.SingleLine = true;
                        text.TimestampFormat = "HH:mm:ss.fff ";
                    });
                }
            });
            if (otlp is null && prometheusPort is null)
            {
                return new Telemetry(loggerFactory, tracer: null, meter: null);
            }

            var (tracer, meter) = StartExporters(program, otlp, prometheusPort);
            return new Telemetry(loggerFactory, tracer, meter);
        }

        // A method of its own, so that OpenTelemetry's assemblies load (and its code compiles) only when asked for.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static (IDisposable? Tracer, IDisposable Meter) StartExporters(string program, Uri? otlp, int? prometheusPort)
        {
            var resource = ResourceBuilder.CreateDefault().AddService(program, serviceVersion: DataflowInfo.Version);
            var tracer = otlp is null ? null : Sdk.CreateTracerProviderBuilder()
                .SetResourceBuilder(resource)
                .AddSource(DataflowTracing.SourceName, ObjectStoreTracing.SourceName)
                .AddOtlpExporter(o => Configure(o, otlp, "v1/traces"))
                .Build();
            var metrics = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource).AddMeter(DataflowMetrics.MeterName);
            if (otlp is not null)
            {
                metrics.AddOtlpExporter((o, reader) =>
                {
                    Configure(o, otlp, "v1/metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 10_000;
                });
            }

            if (prometheusPort is { } port)
            {
                metrics.AddPrometheusHttpListener(o =>
                {
                    o.Host = "localhost";
                    o.Port = port;
                });
            }

            return (tracer, metrics.Build());
        }

        public void Dispose()
        {
            // Disposing the providers flushes what is still buffered: the last spans and a final metrics export.
            _tracer?.Dispose();
            _meter?.Dispose();
            LoggerFactory.Dispose();
        }

        private static void Configure(OtlpExporterOptions options, Uri endpoint, string path)
        {
            options.Protocol = OtlpExportProtocol.HttpProtobuf;
            options.Endpoint = new Uri(endpoint, endpoint.AbsolutePath.EndsWith('/') ? path : endpoint.AbsolutePath + "/" + path);
        }
    }
}
