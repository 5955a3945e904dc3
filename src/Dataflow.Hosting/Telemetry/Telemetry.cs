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

/// <summary>The logger factory and OpenTelemetry providers of one command.</summary>
internal sealed class Telemetry : IDisposable
{
    // As IDisposable, so that this type does not load OpenTelemetry's assemblies when nothing exports.
    private readonly IDisposable? _tracer;
    private readonly IDisposable? _meter;
    private StoreLogger? _storeLog;

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
        var loggerFactory = level == LogLevel.None ? NullLoggerFactory.Instance : CreateLoggerFactory(level, format);
        if (otlp is null && prometheusPort is null)
        {
            return new Telemetry(loggerFactory, tracer: null, meter: null);
        }

        var (tracer, meter) = StartExporters(program, otlp, prometheusPort);
        return new Telemetry(loggerFactory, tracer, meter);
    }

    // A method of its own, so that Microsoft.Extensions.Logging (and what it loads) is loaded only with a log level.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ILoggerFactory CreateLoggerFactory(LogLevel level, LogFormat format) =>
        Microsoft.Extensions.Logging.LoggerFactory.Create(logging =>
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

    /// <summary>Sends what the command's store logs to this telemetry's logging, until it is disposed.</summary>
    public void Attach(StoreLogger storeLog)
    {
        _storeLog = storeLog;
        storeLog.Target = LoggerFactory == NullLoggerFactory.Instance ? null : LoggerFactory.CreateLogger("Dataflow.Storage");
    }

    public void Dispose()
    {
        if (_storeLog is not null)
        {
            _storeLog.Target = null;
        }

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
