using Dataflow.Core;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>The options of a driver (<c>run</c>, <c>resume</c>): where and how tasks run, and what it prints.</summary>
internal sealed class DriverOptions
{
    /// <summary><c>--executor</c>: where tasks run.</summary>
    public AppOption<ExecutorKind> Executor { get; } = new("--executor", "Where tasks run: local (in this process), process (each task in a worker process of this program, started as 'worker --plan <uri> --stage <s> --task <i>', as a pod runs it), kubernetes (an Indexed Job per stage; needs --image) or argo (one Argo Workflow; needs --image).", ExecutorKind.Local, "local|process|kubernetes|argo", OptionParsing.ParseEnum<ExecutorKind>, null);

    /// <summary><c>--gc</c>: when intermediate artifacts are deleted.</summary>
    public AppOption<GcMode> Gc { get; } = new("--gc", "When intermediate artifacts are deleted: eager (as soon as nothing needs them), end (when the run ends) or never (keep them for debugging).", GcMode.Eager, "eager|end|never", OptionParsing.ParseEnum<GcMode>, null);

    /// <summary><c>--cache</c>: how a new run uses the task cache in the store.</summary>
    public AppOption<CacheMode> Cache { get; } = new("--cache", "The task cache in the store (_dataflow/cache/): on (tasks whose operator, version and inputs match an earlier task's are not run, and what runs is kept for later runs instead of collected), read-only (use it, add nothing) or off. Only operators that declare a Version are cached; gc --cache trims it (see the README).", CacheMode.Off, "on|off|read-only", OptionParsing.ParseCacheMode, null);

    /// <summary><c>--cache-hash-inputs</c>: fingerprint inputs by their bytes.</summary>
    public AppOption<bool> CacheHashInputs { get; } = new("--cache-hash-inputs", "With --cache: fingerprint the input objects by a hash of their bytes (read once at the start) instead of their entity tag and, on a folder, their file's identity and modification time.", false, null, null, null);

    /// <summary><c>--concurrency</c>: tasks at once.</summary>
    public AppOption<int> Concurrency { get; } = new("--concurrency", "Tasks running at once.", Environment.ProcessorCount, "N", null, v => v is >= 1 and <= 4096 ? null : "must be between 1 and 4096");

    /// <summary><c>--attempts</c>: attempts per task.</summary>
    public AppOption<int> Attempts { get; } = new("--attempts", "Attempts per task before the run fails.", 3, "N", null, v => v is >= 1 and <= 100 ? null : "must be between 1 and 100");

    /// <summary><c>--task-timeout</c>: how long one attempt may run.</summary>
    public AppOption<TimeSpan> TaskTimeout { get; } = new("--task-timeout", "How long one attempt of a task may run: e.g. 90s, 10m, 1h, or infinite.", TimeSpan.FromMinutes(30), "DURATION", Duration.Parse, null);

    /// <summary><c>--max-failed-inputs</c>: how many inputs may fail (map tasks that fail for good) before the run does.</summary>
    public AppOption<FailureTolerance> MaxFailedInputs { get; } = new("--max-failed-inputs", "How many input objects may fail for good (their map tasks failing on every attempt, or permanently) before the run does: a number (5) or a percentage of the inputs (2%). The run then ends succeeded but partial (exit code 3), without those inputs, which the summary and report list. Reduce stages never tolerate a failure; local and process executors only. Default 0: the first failed task fails the run.", FailureTolerance.None, "N|P%", ParseFailureTolerance, null);

    /// <summary><c>--speculate</c>: backup attempts of straggling tasks.</summary>
    public AppOption<SpeculateMode> Speculate { get; } = new("--speculate", "Start one backup attempt of a task that runs much longer than its stage's others (more than twice their median and --speculate-after, once 3/4 of them committed) on a slot or worker that no ready task needs; the first attempt to commit is the task's, the other is cancelled. Local and process executors only. Turn it off for operators with effects outside the store.", SpeculateMode.On, "on|off", OptionParsing.ParseEnum<SpeculateMode>, null);

    /// <summary><c>--speculate-after</c>: the least time an attempt runs before it gets a backup.</summary>
    public AppOption<TimeSpan> SpeculateAfter { get; } = new("--speculate-after", "With --speculate on: how long an attempt must have run at least before it gets a backup, whatever its stage's median.", TimeSpan.FromSeconds(1), "DURATION", Duration.Parse, v => v > TimeSpan.Zero && v <= TimeSpan.FromDays(1) ? null : "must be a duration of at most a day");

    /// <summary><c>--progress</c>: how progress is shown.</summary>
    public AppOption<ProgressMode> Progress { get; } = new("--progress", "Progress on stderr: auto (bars on a terminal, lines otherwise), bars, lines or none.", ProgressMode.Auto, "auto|bars|lines|none", OptionParsing.ParseEnum<ProgressMode>, null);

    /// <summary><c>--json</c>: the summary (or listing) as JSON on stdout.</summary>
    public AppOption<bool> Json { get; } = new("--json", "Print the run summary as one JSON object on stdout.", false, null, null, null);

    /// <summary><c>--verbose</c>: full exceptions on errors; every command has it.</summary>
    public AppOption<bool> Verbose { get; } = new("--verbose", "On errors, print the full exception.", false, null, null, null);

    /// <summary>The driver's options, in the order of <c>resume --help</c>.</summary>
    public AppOption[] All => [Executor, Gc, Concurrency, Attempts, TaskTimeout, MaxFailedInputs, Speculate, SpeculateAfter, Progress, Json, Verbose];

    private static FailureTolerance ParseFailureTolerance(string text) =>
        FailureTolerance.TryParse(text, out var tolerance)
            ? tolerance
            : throw new FormatException($"'{text}' is neither a number of inputs (e.g. 5) nor a percentage of the inputs from 0% to 100% (e.g. 2%)");
}
