using System.Diagnostics;
using System.Globalization;
using Dataflow.Core;

namespace Dataflow.TestWorker;

/// <summary>
/// The job of the process executor's pool tests: the objects under <c>input/</c> merged in a fan-in 2 tree into
/// <c>output/merged.txt</c> by <see cref="TracedConcatOperator"/>, which leaves a trace of each attempt in a folder.
/// </summary>
public static class PoolTestJob
{
    /// <summary>The variable that gives workers the folder of traces and hang requests.</summary>
    public const string FolderVariable = "DATAFLOW_TEST_WORKER_DIR";

    /// <summary>The variable that, set to 1, makes workers record Dataflow's spans (as a traced program would).</summary>
    public const string TracedVariable = "DATAFLOW_TEST_WORKER_TRACED";

    /// <summary>The merged output's key.</summary>
    public const string Output = "output/merged.txt";

    /// <summary>
    /// The job, its operator tracing into <paramref name="folder"/> (the driver never runs it: any folder will do there).
    /// Its rule makes a <see cref="FormatException"/> permanent (see <see cref="TracedConcatOperator"/>'s poisons).
    /// </summary>
    public static Job Create(string folder) =>
        Job.Named("pool-test").FromPrefix("input/").FailPermanentlyOn(e => e is FormatException).ReduceTree(2, new TracedConcatOperator(folder)).WriteTo(Output);

    /// <summary>
    /// The start of a job input that makes the task reading it fail, in the operator, with the exception the rest names:
    /// <c>poison:permanent</c> a <see cref="PermanentTaskException"/>, <c>poison:format</c> a
    /// <see cref="FormatException"/> (permanent by the job's rule), <c>poison:io</c> an <see cref="IOException"/>
    /// (retried). None of their messages names the object: the task's failure must.
    /// </summary>
    public const string Poison = "poison:";

    /// <summary>
    /// The file in <paramref name="folder"/> where attempt <paramref name="attempt"/> of <paramref name="task"/> writes the
    /// id of the process that runs it (a file each: .NET appends at the end the file had when opened, so several
    /// processes appending to one file would write over each other).
    /// </summary>
    public static string TraceFile(string folder, TaskId task, int attempt) =>
        Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"attempt-{task.Stage}-{task.Index}-{attempt}"));

    /// <summary>
    /// The file where attempt <paramref name="attempt"/> of <paramref name="task"/> writes the trace id and parent span id
    /// of the span it runs in, when there is one: <c>&lt;trace-id&gt; &lt;parent-span-id&gt;</c>.
    /// </summary>
    public static string SpanFile(string folder, TaskId task, int attempt) =>
        Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"span-{task.Stage}-{task.Index}-{attempt}"));

    /// <summary>The attempts traced in <paramref name="folder"/>: which process ran which attempt of which task.</summary>
    public static List<(int Pid, TaskId Task, int Attempt)> TracedAttempts(string folder) =>
    [
        .. Directory.GetFiles(folder, "attempt-*").Select(path =>
        {
            var parts = Path.GetFileName(path).Split('-');
            var number = (string text) => int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
            return (number(File.ReadAllText(path)), new TaskId(number(parts[1]), number(parts[2])), number(parts[3]));
        }),
    ];

    /// <summary>A file that, when it exists, makes attempt <paramref name="attempt"/> of <paramref name="task"/> hang until it is killed.</summary>
    public static string HangFile(string folder, TaskId task, int attempt) =>
        Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"hang-{task.Stage}-{task.Index}-{attempt}"));

    /// <summary>A file that, when it exists, makes the next attempt of <paramref name="task"/> fail (and deletes it): a pod's task that fails once.</summary>
    public static string FailOnceFile(string folder, TaskId task) =>
        Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"fail-once-{task.Stage}-{task.Index}"));

    /// <summary>
    /// A file that, when it exists, makes each attempt of <paramref name="task"/> allocate and touch as many MiB as the
    /// file says, held until the attempt ends: a task whose peak memory the tests know.
    /// </summary>
    public static string AllocateFile(string folder, TaskId task) =>
        Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"allocate-{task.Stage}-{task.Index}"));

    /// <summary>The file a hanging attempt of <paramref name="task"/> writes its process id to before it hangs.</summary>
    public static string HangingFile(string folder, TaskId task) =>
        Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"hanging-{task.Stage}-{task.Index}"));
}

/// <summary>Concatenates its inputs after writing down which process runs which attempt; hangs when the test asks it to.</summary>
public sealed class TracedConcatOperator(string folder) : IObjectOperator
{
    private readonly ConcatOperator _concat = new();

    /// <inheritdoc />
    public string Name => "traced-concat";

    /// <inheritdoc />
    public async ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        // Whole or not at all: an attempt cancelled while writing (another task failed the run) must not leave an
        // empty trace for TracedAttempts to read.
        var trace = PoolTestJob.TraceFile(folder, context.TaskId, context.Attempt);
        var partial = Path.Combine(folder, "partial-" + Path.GetFileName(trace));
        File.WriteAllText(partial, pid);
        File.Move(partial, trace, overwrite: true);
        if (Activity.Current is { } span)
        {
            await File.WriteAllTextAsync(PoolTestJob.SpanFile(folder, context.TaskId, context.Attempt), $"{span.TraceId} {span.ParentSpanId}", cancellationToken).ConfigureAwait(false);
        }

        var failOnce = PoolTestJob.FailOnceFile(folder, context.TaskId);
        if (File.Exists(failOnce))
        {
            File.Delete(failOnce);
            throw new IOException($"task {context.TaskId} fails once, as the test asked");
        }

        foreach (var input in context.Inputs)
        {
            await ThrowIfPoisonedAsync(input, cancellationToken).ConfigureAwait(false);
        }

        if (File.Exists(PoolTestJob.HangFile(folder, context.TaskId, context.Attempt)))
        {
            await File.WriteAllTextAsync(PoolTestJob.HangingFile(folder, context.TaskId), pid, cancellationToken).ConfigureAwait(false);
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }

        var allocate = PoolTestJob.AllocateFile(folder, context.TaskId);
        var held = File.Exists(allocate) ? Touched(int.Parse(File.ReadAllText(allocate), CultureInfo.InvariantCulture)) : null;
        await _concat.ExecuteAsync(context, cancellationToken).ConfigureAwait(false);
        GC.KeepAlive(held);
    }

    /// <summary>A buffer of <paramref name="mebibytes"/> MiB with every page written, so that all of it is resident.</summary>
    private static byte[] Touched(int mebibytes)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(mebibytes << 20);
        for (var i = 0; i < buffer.Length; i += 4096)
        {
            buffer[i] = 1;
        }

        return buffer;
    }

    private static async ValueTask ThrowIfPoisonedAsync(TaskInput input, CancellationToken cancellationToken)
    {
        // Only a job input long enough to hold a poison is read: the others are concatenated unread, as before.
        if (input.Split is null || input.Length < PoolTestJob.Poison.Length || input.Length > 64)
        {
            return;
        }

        var stream = await input.OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream);
            var text = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            switch (text.StartsWith(PoolTestJob.Poison, StringComparison.Ordinal) ? text[PoolTestJob.Poison.Length..] : null)
            {
                case "permanent":
                    throw new PermanentTaskException("a record is not a number");
                case "format":
                    throw new FormatException("a record is not a number");
                case "io":
                    throw new IOException("the disk hiccuped");
            }
        }
    }
}
