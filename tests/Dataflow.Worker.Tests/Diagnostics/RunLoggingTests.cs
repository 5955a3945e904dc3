using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker.Tests.Diagnostics;

public sealed class RunLoggingTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Run_WithARetry_LogsStartEndAndTheFailedAttemptWithRunStageAndTaskInScope()
    {
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        await using var store = ObjectStore.OpenFolder(_folder.Path);
        await Inputs.WriteAsync(store, 4, size: 10);
        var op = new ScriptedOperator(new CopyConcatOperator(), (id, attempt, _, _) =>
            id is { Stage: 0, Index: 1 } && attempt == 1 ? throw new IOException("first attempt fails") : ValueTask.CompletedTask);
        var job = Job.Named("logged").FromPrefix("input/").ReduceTree(2, op).WriteTo("output/merged.txt");

        var summary = (await new JobRunner(store, new JobRunnerOptions { LoggerFactory = factory, Concurrency = 2, RetryDelay = TimeSpan.FromMilliseconds(1) }).RunAsync(job)).Summary;

        var entries = logs.Entries.ToList();
        Assert.All(entries, e =>
        {
            Assert.Equal("Dataflow.Run", e.Category);
            Assert.Equal(summary.RunId, e.Scope.GetValueOrDefault("RunId"));
            Assert.Equal("logged", e.Scope.GetValueOrDefault("Job"));
        });
        Assert.Contains(entries, e => e.Level == LogLevel.Information && e.Message.StartsWith("Starting a run of job logged", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Level == LogLevel.Information && e.Message == "Planned 2 stages, 3 tasks, on the local executor");
        var end = Assert.Single(entries, e => e.Message.StartsWith("Run succeeded", StringComparison.Ordinal));
        Assert.Equal(summary.TasksRun, end.Properties["TasksRun"]);
        Assert.Equal(1, end.Properties["Retries"]);
        var failed = Assert.Single(entries, e => e.Level == LogLevel.Warning);
        Assert.Equal("Attempt 1 failed: first attempt fails", failed.Message);
        Assert.Equal("0/1", failed.Scope["Task"]?.ToString());
        Assert.IsType<IOException>(failed.Exception);
        Assert.DoesNotContain(entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task Run_DefaultOptions_HaveNoLoggerAndRun()
    {
        await using var store = ObjectStore.OpenFolder(_folder.Path);
        await Inputs.WriteAsync(store, 4, size: 10);
        var job = Job.Named("quiet").FromPrefix("input/").ReduceTree(2, new CopyConcatOperator()).WriteTo("output/merged.txt");

        Assert.Same(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, new JobRunnerOptions().LoggerFactory);
        Assert.Equal("succeeded", (await new JobRunner(store).RunAsync(job)).Summary.Status);
    }

    private sealed record Entry(string Category, LogLevel Level, string Message, Exception? Exception, Dictionary<string, object?> Properties, Dictionary<string, object?> Scope);

    /// <summary>Keeps every message with its structured properties and the properties of the scopes it was logged in.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public ConcurrentQueue<Entry> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => provider._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var properties = new Dictionary<string, object?>();
                if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    foreach (var (key, value) in pairs)
                    {
                        properties[key] = value;
                    }
                }

                var scope = new Dictionary<string, object?>();
                provider._scopes.ForEachScope(
                    (s, into) =>
                    {
                        if (s is IEnumerable<KeyValuePair<string, object?>> values)
                        {
                            foreach (var (key, value) in values)
                            {
                                into[key] = value;
                            }
                        }
                    },
                    scope);
                provider.Entries.Enqueue(new Entry(category, logLevel, formatter(state, exception), exception, properties, scope));
            }
        }
    }
}
