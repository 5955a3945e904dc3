using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Dataflow.Hosting.Tests;

public sealed class TelemetryOptionsTests : ConsoleTests
{
    [Fact]
    public async Task Run_OtlpEndpoint_ExportsTheRunsSpansAndMetricsToTheCollector()
    {
        // A collector on loopback that keeps what it is sent: OTLP over HTTP/protobuf, whose strings are plain UTF-8.
        // Kestrel, not HttpListener: the Prometheus exporter of the next test is an HttpListener, and the managed
        // HttpListener's shared endpoint state is not safe against a second listener stopping in the same process.
        var received = new ConcurrentDictionary<string, ConcurrentBag<byte[]>>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        await using var collector = builder.Build();
        collector.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.GetOrAdd(context.Request.Path.Value ?? "/", _ => []).Add(body.ToArray());
            context.Response.StatusCode = 200;
        });
        await collector.StartAsync();
        var port = new Uri(collector.Urls.First()).Port;

        var code = await CreateApp().RunAsync(
            ["--store", Path.Combine(Folder.Path, "store"), "--otlp-endpoint", $"http://127.0.0.1:{port}", "--progress", "none"],
            Console,
            CancellationToken.None);

        Assert.Equal(ExitCodes.Success, code);
        await collector.StopAsync();
        var traces = Text(received, "/v1/traces");
        foreach (var name in new[] { "dataflow.run", "dataflow.stage", "dataflow.task", "store.open_read", "store.list", "telemetry-merge" })
        {
            Assert.Contains(name, traces, StringComparison.Ordinal);
        }

        var metrics = Text(received, "/v1/metrics");
        foreach (var name in new[] { "dataflow.tasks.started", "dataflow.tasks.committed", "dataflow.bytes.read", "dataflow.task.duration", "telemetry-merge" })
        {
            Assert.Contains(name, metrics, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Run_PrometheusPort_ServesTheMetricsWhileTheRunGoesOn()
    {
        var port = FreePort();
        var scraped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = Task.Run(() => CreateApp(before: task => task.Stage == 1 ? new ValueTask(scraped.Task.WaitAsync(TimeSpan.FromSeconds(60))) : ValueTask.CompletedTask).RunAsync(
            ["--store", Path.Combine(Folder.Path, "store"), "--prometheus-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--progress", "none"],
            Console,
            CancellationToken.None));

        // Stage 0 commits its 4 tasks, then stage 1 waits until the metrics have been seen.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string? page = null;
        for (var i = 0; i < 300 && !run.IsCompleted; i++)
        {
            try
            {
                page = await http.GetStringAsync(new Uri($"http://localhost:{port}/metrics"));
                if (page.Contains("dataflow_tasks_committed", StringComparison.Ordinal) && page.Contains("job=\"telemetry-merge\"", StringComparison.Ordinal))
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        scraped.SetResult();
        Assert.Equal(ExitCodes.Success, await run);
        Assert.NotNull(page);
        Assert.Contains("dataflow_tasks_started", page, StringComparison.Ordinal);
        Assert.Contains("dataflow_tasks_committed", page, StringComparison.Ordinal);
        Assert.Contains("job=\"telemetry-merge\"", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_LogLevelInformationAsJson_KeepsStdoutForTheSummary()
    {
        var code = await CreateApp().RunAsync(
            ["--store", Path.Combine(Folder.Path, "store"), "--log-level", "information", "--log-format", "json", "--json", "--progress", "none"],
            Console,
            CancellationToken.None);

        Assert.Equal(ExitCodes.Success, code);
        using var summary = System.Text.Json.JsonDocument.Parse(Out.ToString());
        Assert.Equal("succeeded", summary.RootElement.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("--log-level", "loud")]
    [InlineData("--log-format", "xml")]
    [InlineData("--otlp-endpoint", "ftp://collector")]
    [InlineData("--prometheus-port", "70000")]
    public async Task Run_BadTelemetryOption_IsAUsageErrorNamingTheOption(string option, string value)
    {
        var code = await CreateApp().RunAsync(
            ["--store", Path.Combine(Folder.Path, "store"), option, value],
            Console,
            CancellationToken.None);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains(option, Error.ToString(), StringComparison.Ordinal);
    }

    private static DataflowApp CreateApp(Func<TaskId, ValueTask>? before = null)
    {
        var app = new DataflowApp("telemetry-merge", "Merges things for telemetry tests.", defaultOutput: "output/merged.txt");
        app.DefineJob(context =>
        {
            IObjectOperator op = new ConcatOperator();
            if (before is not null)
            {
                op = new ScriptedOperator(op, (task, _, _, _) => before(task));
            }

            return Job.Named("telemetry-merge").FromPrefix(context.InputPrefix).ReduceTree(2, op).WriteTo(context.OutputKey);
        });
        app.BeforeRun((context, _) => Inputs.WriteAsync(context.Store, 8, prefix: context.InputPrefix));
        return app;
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private static string Text(ConcurrentDictionary<string, ConcurrentBag<byte[]>> received, string path)
    {
        Assert.True(received.TryGetValue(path, out var bodies), $"the collector received nothing at {path}; it received {string.Join(", ", received.Keys)}");
        return string.Join('\n', bodies.Select(b => Encoding.UTF8.GetString(b)));
    }
}
