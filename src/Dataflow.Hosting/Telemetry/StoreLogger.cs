using Microsoft.Extensions.Logging;

namespace Dataflow.Hosting;

/// <summary>
/// The logger a command's store is opened with (it logs the requests it retries), before the command's telemetry —
/// which says where logs go — has started: it forwards to <see cref="Target"/> once that is set, and drops what comes
/// before or after.
/// </summary>
internal sealed class StoreLogger : ILogger
{
    private volatile ILogger? _target;

    /// <summary>Where messages go now; <see langword="null"/> drops them.</summary>
    public ILogger? Target
    {
        get => _target;
        set => _target = value;
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => _target?.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => _target?.IsEnabled(logLevel) ?? false;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _target?.Log(logLevel, eventId, state, exception, formatter);
}
