using System.Globalization;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// A task failed on every attempt it was allowed, or failed permanently (not retried). The message names the job,
/// stage, task, operator, the task's inputs (the first few and how many), the attempt count and the last error.
/// </summary>
public sealed class TaskFailedException : Exception
{
    /// <summary>How many input names the message and <see cref="Inputs"/> hold at most.</summary>
    internal const int InputsNamed = 5;

    /// <summary>Creates the exception, without the task's inputs.</summary>
    public TaskFailedException(string job, TaskId task, string stage, string @operator, int attempts, Exception lastError)
        : this(job, task, stage, @operator, [], 0, attempts, lastError, permanent: false)
    {
    }

    /// <summary>Creates the exception for a task of <paramref name="plan"/>: its stage, operator and inputs are taken from the plan.</summary>
    /// <param name="plan">The run's plan, with <paramref name="task"/> loaded.</param>
    /// <param name="task">The task that failed.</param>
    /// <param name="attempts">How many attempts were made.</param>
    /// <param name="lastError">The last attempt's error.</param>
    /// <param name="permanent">True when the last error was permanent, so no attempt followed it (see <see cref="Job.IsPermanentFailure"/>).</param>
    public TaskFailedException(Plan plan, TaskId task, int attempts, Exception lastError, bool permanent)
        : this(Checked(plan).Job, task, plan.Stages[task.Stage].Name, plan.GetTask(task).Operator, InputNames(plan.GetTask(task)), plan.GetTask(task).Inputs.Count, attempts, lastError, permanent)
    {
    }

    private TaskFailedException(string job, TaskId task, string stage, string @operator, IReadOnlyList<string> inputs, int inputCount, int attempts, Exception lastError, bool permanent, string? note = null)
        : base(Format(job, task, stage, @operator, inputs, inputCount, attempts, lastError, permanent) + (note is null ? "" : $" ({note})"), lastError)
    {
        Job = job;
        Task = task;
        Stage = stage;
        Operator = @operator;
        Attempts = attempts;
        Inputs = inputs;
        InputCount = inputCount;
        Permanent = permanent;
    }

    /// <summary>The job.</summary>
    public string Job { get; }

    /// <summary>The task that failed.</summary>
    public TaskId Task { get; }

    /// <summary>The name of its stage.</summary>
    public string Stage { get; }

    /// <summary>Its operator.</summary>
    public string Operator { get; }

    /// <summary>How many attempts were made.</summary>
    public int Attempts { get; }

    /// <summary>
    /// The first few of the task's inputs (at most five), as the message names them: a job input's key in quotes
    /// (<c>'input/005.txt'</c>, with <c>bytes a to b</c> for a split of it), another task's output as
    /// <c>stage/task:output</c>. Empty when they are not known.
    /// </summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>How many inputs the task has (0 when not known).</summary>
    public int InputCount { get; }

    /// <summary>True when the last error was permanent, so the task was not tried again (see <see cref="Core.Job.IsPermanentFailure"/>).</summary>
    public bool Permanent { get; }

    /// <summary>The last error as the message gives it: its type and message (a worker's or a timeout's message alone).</summary>
    internal string Reason => Describe(InnerException!);

    /// <summary>The same failure, its message ending with <paramref name="note"/> in brackets: why it failed the run (a spent failure budget).</summary>
    internal TaskFailedException WithNote(string note) =>
        new(Job, Task, Stage, Operator, Inputs, InputCount, Attempts, InnerException!, Permanent, note);

    /// <summary>The first few inputs of <paramref name="task"/>, named as <see cref="StoreInput"/> names them.</summary>
    internal static string[] InputNames(PlanTask task) =>
    [
        .. task.Inputs.Take(InputsNamed).Select(input => input.Key is { } key ? StoreInput.NameOf(key, input.Offset, input.Length) : $"{input.Task}:{input.Output}"),
    ];

    /// <summary>The last error, for the message: a worker's or a timeout's message says what happened by itself.</summary>
    internal static string Describe(Exception error) => error switch
    {
        TaskTimeoutException or WorkerProcessException => error.Message,
        _ => $"{error.GetType().Name}: {error.Message}",
    };

    private static Plan Checked(Plan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return plan;
    }

    private static string Format(string job, TaskId task, string stage, string @operator, IReadOnlyList<string> inputs, int inputCount, int attempts, Exception lastError, bool permanent)
    {
        var named = inputCount switch
        {
            0 => "",
            1 => $", input {inputs[0]}",
            _ when inputCount <= inputs.Count => $", inputs {string.Join(", ", inputs)}",
            _ => string.Create(CultureInfo.InvariantCulture, $", inputs {string.Join(", ", inputs)} and {inputCount - inputs.Count} more ({inputCount} in all)"),
        };
        var count = string.Create(CultureInfo.InvariantCulture, $"{attempts} attempt{(attempts == 1 ? "" : "s")}");
        var how = permanent ? $"failed permanently after {count} (not retried)" : $"failed after {count}";
        return $"job '{job}': task {task} (stage {task.Stage} '{stage}', task {task.Index}, operator '{@operator}'{named}) {how}: {Describe(lastError)}";
    }
}
