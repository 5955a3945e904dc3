using System.Globalization;
using System.Text;
using Dataflow.Worker;
using Spectre.Console;

namespace Dataflow.Hosting;

/// <summary>
/// Shows a <see cref="RunProgress"/> on stderr while a run goes: one live bar per stage (Spectre.Console) on a
/// terminal, or a plain line every <see cref="LineInterval"/> when stderr is redirected. It polls the progress
/// object, so the run itself pays nothing per task.
/// </summary>
internal sealed class ProgressDisplay : IAsyncDisposable
{
    public static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(2);

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private ProgressDisplay(Func<CancellationToken, Task> loop) => _loop = Task.Run(() => loop(_stop.Token));

    public static ProgressDisplay Start(RunProgress progress, ProgressMode mode, TextWriter error, bool errorIsTerminal, string label)
    {
        if (mode == ProgressMode.Auto)
        {
            mode = errorIsTerminal ? ProgressMode.Bars : ProgressMode.Lines;
        }

        return mode switch
        {
            ProgressMode.Bars => new ProgressDisplay(token => ShowBarsAsync(progress, error, token)),
            ProgressMode.Lines => new ProgressDisplay(token => ShowLinesAsync(progress, error, label, token)),
            _ => new ProgressDisplay(_ => Task.CompletedTask),
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private static async Task ShowLinesAsync(RunProgress progress, TextWriter error, string label, CancellationToken token)
    {
        using var timer = new PeriodicTimer(LineInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                await error.WriteLineAsync(Describe(progress, label)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal static string Describe(RunProgress progress, string label)
    {
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{label}: {progress.Phase}");
        var stages = progress.Stages;
        if (stages.Count > 0)
        {
            line.Append(CultureInfo.InvariantCulture, $", {progress.TasksCommitted}/{progress.TasksTotal} tasks");
            var open = stages.Where(s => s.Committed < s.Total).Take(3).ToArray();
            if (open.Length > 0)
            {
                line.Append(" (");
                line.AppendJoin(", ", open.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Name} {s.Committed}/{s.Total}, {s.Running} running")));
                line.Append(')');
            }
        }

        return line.ToString();
    }

    private static async Task ShowBarsAsync(RunProgress progress, TextWriter error, CancellationToken token)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(error),
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
        });

        // Wait for the plan: before it there are no stages to show.
        while (progress.Stages.Count == 0 && progress.Phase != RunPhases.Done && !token.IsCancellationRequested)
        {
            await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
        }

        var stages = progress.Stages;
        if (stages.Count == 0)
        {
            return;
        }

        await console.Progress()
            .AutoClear(false)
            .HideCompleted(stages.Count > 12)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var bars = stages.Select(s => context.AddTask(Markup.Escape(s.Name), maxValue: s.Total)).ToArray();
                while (true)
                {
                    for (var i = 0; i < bars.Length; i++)
                    {
                        bars[i].Value = stages[i].Committed;
                    }

                    if (token.IsCancellationRequested)
                    {
                        break;
                    }

                    await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
    }
}
