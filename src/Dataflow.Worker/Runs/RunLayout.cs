using System.Globalization;
using System.Security.Cryptography;
using Dataflow.Core;

namespace Dataflow.Worker;

/// <summary>
/// Where a run keeps its records and intermediate data in a store, relative to the store's root:
/// <code>
/// _dataflow/runs/&lt;run-id&gt;/plan.json                                      the plan's index
/// _dataflow/runs/&lt;run-id&gt;/plan/s&lt;stage&gt;/c&lt;chunk&gt;.json                   a chunk of a stage's tasks
/// _dataflow/runs/&lt;run-id&gt;/plan/inputs/c&lt;chunk&gt;.json                   a chunk of the job's inputs
/// _dataflow/runs/&lt;run-id&gt;/commits/s&lt;stage&gt;/t&lt;task&gt;.&lt;attempt&gt;.json     a commit record of one task
/// _dataflow/runs/&lt;run-id&gt;/commits/batch-&lt;id&gt;.json                       a commit record of several tasks
/// _dataflow/runs/&lt;run-id&gt;/commits/s&lt;stage&gt;/shard-&lt;first&gt;-&lt;last&gt;.&lt;id&gt;.json  a pod's shard record (an index)
/// _dataflow/runs/&lt;run-id&gt;/data/s&lt;stage&gt;/t&lt;task&gt;.&lt;attempt&gt;.&lt;output&gt;   attempt outputs (intermediate data)
/// _dataflow/runs/&lt;run-id&gt;/failures/s&lt;stage&gt;/t&lt;task&gt;.&lt;attempt&gt;.json    a failed attempt of one task, written as it fails
/// _dataflow/runs/&lt;run-id&gt;/lease.json                                     which driver runs it now, until when
/// _dataflow/runs/&lt;run-id&gt;/cancel-request.json                            a request to that driver to cancel the run
/// _dataflow/runs/&lt;run-id&gt;/progress.json                                  what the driver runs now, per stage (while it runs)
/// _dataflow/runs/&lt;run-id&gt;/summary.json                                   the run summary
/// _dataflow/runs/&lt;run-id&gt;/cache-keys.bin                                 the tasks' cache keys (a run with the cache)
/// </code>
/// A run with the task cache on (<see cref="CacheMode.On"/>) writes its attempt outputs under
/// <c>_dataflow/cache/data/&lt;run-id&gt;/</c> instead (<see cref="CacheLayout"/>), in the same form.
/// Keys are flat below the stage, so that a task adds no folders to a folder store.
/// Job inputs and final outputs live outside the reserved prefix <see cref="ObjectKey.ReservedPrefix"/>.
/// </summary>
internal sealed class RunLayout
{
    /// <summary>The prefix of all runs.</summary>
    public const string RunsPrefix = ObjectKey.ReservedPrefix + "runs/";

    /// <summary>Creates the layout of run <paramref name="runId"/>.</summary>
    /// <exception cref="ArgumentException">The run id is not 1–64 ASCII letters, digits, '-' or '_'.</exception>
    public RunLayout(string runId) : this(runId, dataInCache: false)
    {
    }

    /// <summary>Creates the layout of run <paramref name="runId"/>, whose data is under the cache's prefix when <paramref name="dataInCache"/>.</summary>
    /// <exception cref="ArgumentException">The run id is not 1–64 ASCII letters, digits, '-' or '_'.</exception>
    public RunLayout(string runId, bool dataInCache)
    {
        if (!IsValidRunId(runId))
        {
            throw new ArgumentException($"'{runId}' is not a valid run id: use 1 to 64 ASCII letters, digits, '-' or '_'", nameof(runId));
        }

        RunId = runId;
        Root = RunsPrefix + runId + "/";
        DataPrefix = dataInCache ? CacheLayout.RunDataPrefix(runId) : Root + "data/";
        DataInCache = dataInCache;
        CommitsPrefix = Root + "commits/";
        PlanKey = Root + "plan.json";
        SummaryKey = Root + "summary.json";
    }

    /// <summary>The layout of the run of <paramref name="plan"/>.</summary>
    public static RunLayout Of(Plan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return new RunLayout(plan.RunId, plan.Cache == CacheMode.On);
    }

    /// <summary>The run's id.</summary>
    public string RunId { get; }

    /// <summary>True when the run's intermediate data is under the cache's prefix (<see cref="CacheMode.On"/>).</summary>
    public bool DataInCache { get; }

    /// <summary>The key of the tasks a run with the cache did not need to look up or run (<see cref="TaskRanges"/>).</summary>
    public string CacheNotNeededKey => Root + "cache-not-needed.json";

    /// <summary>The key of the run's task cache keys (<see cref="TaskKeys"/>).</summary>
    public string CacheKeysKey => Root + "cache-keys.bin";

    /// <summary>The prefix of everything the run writes.</summary>
    public string Root { get; }

    /// <summary>The prefix of the run's intermediate data (attempt outputs).</summary>
    public string DataPrefix { get; }

    /// <summary>The prefix of the run's commit markers.</summary>
    public string CommitsPrefix { get; }

    /// <summary>The key of the run's plan.</summary>
    public string PlanKey { get; }

    /// <summary>The prefix of the plan's chunks.</summary>
    public string PlanChunksPrefix => Root + "plan/";

    /// <summary>The key of chunk <paramref name="chunk"/> of stage <paramref name="stage"/>'s tasks.</summary>
    public string PlanChunkKey(int stage, int chunk) => string.Create(CultureInfo.InvariantCulture, $"{Root}plan/s{stage:D4}/c{chunk:D6}.json");

    /// <summary>The key of chunk <paramref name="chunk"/> of the job's inputs.</summary>
    public string PlanInputChunkKey(int chunk) => string.Create(CultureInfo.InvariantCulture, $"{Root}plan/inputs/c{chunk:D6}.json");

    /// <summary>The key of the run's summary.</summary>
    public string SummaryKey { get; }

    /// <summary>The key of the run's report, as JSON (<see cref="RunReport"/>).</summary>
    public string ReportKey => Root + "report.json";

    /// <summary>The key of the run's report, as a self-contained HTML page.</summary>
    public string ReportHtmlKey => Root + "report.html";

    /// <summary>
    /// The key a final output staged under <paramref name="key"/> is recorded under until it is published
    /// (<see cref="Dataflow.Storage.StagedObject.Owner"/>): under the run's root, so that the run's clean-up and <c>gc</c> discard what
    /// was never published.
    /// </summary>
    public string StagedOwner(string key) => $"{Root}staged/{key}";

    /// <summary>The key of output <paramref name="output"/> of one attempt of one task.</summary>
    public string OutputKey(TaskId task, string attemptId, string output) => $"{DataPrefix}{TaskPath(task)}.{attemptId}.{output}";

    /// <summary>The key of the record that sets aside the commit of attempt <paramref name="attemptId"/> of <paramref name="task"/>.</summary>
    public string SetAsideKey(TaskId task, string attemptId) => $"{CommitsPrefix}{TaskPath(task)}.{SetAsideMark}{attemptId}.json";

    /// <summary>What marks a set-aside record among a task's commit records.</summary>
    public const string SetAsideMark = "aside-";

    /// <summary>
    /// The task whose attempt output <paramref name="key"/> is (a key of <see cref="OutputKey"/>'s form under this
    /// run's data prefix), or <see langword="null"/> for any other key (a job input, another run's data).
    /// </summary>
    public TaskId? TaskOfOutput(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!key.StartsWith(DataPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        // s<stage>/t<task>.<attempt>.<output>
        var rest = key.AsSpan(DataPrefix.Length);
        var slash = rest.IndexOf('/');
        var dot = rest.IndexOf('.');
        return slash > 1 && dot > slash + 2 && rest[0] == 's' && rest[slash + 1] == 't'
            && int.TryParse(rest[1..slash], NumberStyles.None, CultureInfo.InvariantCulture, out var stage)
            && int.TryParse(rest[(slash + 2)..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            ? new TaskId(stage, index)
            : null;
    }

    /// <summary>The key of the commit record of one attempt of one task.</summary>
    public string TaskCommitKey(TaskId task, string attemptId) => $"{CommitsPrefix}{TaskPath(task)}.{attemptId}.json";

    /// <summary>The prefix of the commit records of one task written by workers (one record per attempt).</summary>
    public string TaskCommitPrefix(TaskId task) => $"{CommitsPrefix}{TaskPath(task)}.";

    /// <summary>
    /// The prefix of the shard records of tasks <paramref name="first"/> to <paramref name="last"/> of
    /// <paramref name="stage"/>: one per pod of that shard that ended on its own (usually one).
    /// </summary>
    public string ShardCommitPrefix(int stage, int first, int last) =>
        string.Create(CultureInfo.InvariantCulture, $"{CommitsPrefix}s{stage:D4}/{ShardMark}{first:D6}-{last:D6}.");

    /// <summary>The key of the shard record that pod <paramref name="writerId"/> (a random id of its own) writes for its shard.</summary>
    public string ShardCommitKey(int stage, int first, int last, string writerId) => $"{ShardCommitPrefix(stage, first, last)}{writerId}.json";

    /// <summary>What marks a shard record among a stage's commit records (a task's own records start with <c>t</c>).</summary>
    public const string ShardMark = "shard-";

    /// <summary>True when <paramref name="key"/> is a shard record of this run (see <see cref="ShardCommitKey"/>).</summary>
    public bool IsShardCommitKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var slash = key.IndexOf('/', CommitsPrefix.Length);
        return key.StartsWith(CommitsPrefix, StringComparison.Ordinal) && slash > 0
            && key.AsSpan(slash + 1).StartsWith(ShardMark, StringComparison.Ordinal);
    }

    /// <summary>
    /// The task and attempt of a task's own commit record (a key of <see cref="TaskCommitKey"/>'s form), or
    /// <see langword="null"/> for any other key (a batch, set-aside or shard record).
    /// </summary>
    public (TaskId Task, string AttemptId)? TaskCommitOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!key.StartsWith(CommitsPrefix, StringComparison.Ordinal) || !key.EndsWith(".json", StringComparison.Ordinal))
        {
            return null;
        }

        // s<stage>/t<task>.<attempt>.json
        var rest = key.AsSpan(CommitsPrefix.Length, key.Length - CommitsPrefix.Length - ".json".Length);
        var slash = rest.IndexOf('/');
        var dot = rest.IndexOf('.');
        return slash > 1 && dot > slash + 2 && rest[0] == 's' && rest[slash + 1] == 't'
            && !rest[(dot + 1)..].StartsWith(SetAsideMark, StringComparison.Ordinal) && rest[(dot + 1)..].IndexOf('.') < 0
            && int.TryParse(rest[1..slash], NumberStyles.None, CultureInfo.InvariantCulture, out var stage)
            && int.TryParse(rest[(slash + 2)..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            ? (new TaskId(stage, index), rest[(dot + 1)..].ToString())
            : null;
    }

    /// <summary>The key of the run's lease: which driver runs it, until when.</summary>
    public string LeaseKey => Root + "lease.json";

    /// <summary>The key of a request to cancel the run, addressed to the driver that holds its lease (see <see cref="RunCatalog.RequestCancelAsync"/>).</summary>
    public string CancelRequestKey => Root + "cancel-request.json";

    /// <summary>The key of what the driver is doing now (<see cref="ProgressRecord"/>), while it runs.</summary>
    public string ProgressKey => Root + "progress.json";

    /// <summary>The prefix of the run's failure records: one per failed attempt, written by the driver as it fails (see <see cref="RunFailures"/>).</summary>
    public string FailuresPrefix => Root + "failures/";

    /// <summary>
    /// The key of the failure record of attempt <paramref name="attemptId"/> of <paramref name="task"/>: flat below the
    /// stage, like a commit record; the attempt id (its number and a random part) keeps attempts of the same number
    /// (after a repair, or in a resumed run) apart.
    /// </summary>
    public string FailureKey(TaskId task, string attemptId) => $"{FailuresPrefix}{TaskPath(task)}.{attemptId}.json";

    /// <summary>The key of a commit record of several tasks, written by one driver.</summary>
    public string BatchCommitKey(string batchId) => $"{CommitsPrefix}batch-{batchId}.json";

    /// <summary>True when <paramref name="runId"/> is 1–64 ASCII letters, digits, '-' or '_'.</summary>
    public static bool IsValidRunId(string? runId) =>
        !string.IsNullOrEmpty(runId) && runId.Length <= 64 && runId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>A new run id: the UTC time to the second and six random hex digits, e.g. <c>20261129-024455-3fa2c1</c>.</summary>
    public static string NewRunId(TimeProvider? timeProvider = null)
    {
        var now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        return now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
    }

    /// <summary>A new attempt id: the attempt number and eight random hex digits, e.g. <c>a01-9c0f33d2</c>. Unique even across processes.</summary>
    /// <remarks>Random ids are drawn from <see cref="Random.Shared"/>: they need to be unique, not unpredictable.</remarks>
    public static string NewAttemptId(int attempt) =>
        string.Create(CultureInfo.InvariantCulture, $"a{attempt:D2}-{Random.Shared.Next():x8}");

    /// <summary>
    /// The attempt id of the marker a driver commits for a task that failed for good and was tolerated
    /// (<see cref="CommitMarker.Failed"/>): <c>f00-xxxxxxxx</c>, after every attempt that ran (<c>a…</c>) and every
    /// task taken from the cache (<c>c…</c>), so that any of those wins over it.
    /// </summary>
    public static string ToleratedAttemptId() =>
        string.Create(CultureInfo.InvariantCulture, $"f00-{Random.Shared.Next():x8}");

    private static string TaskPath(TaskId task) => string.Create(CultureInfo.InvariantCulture, $"s{task.Stage:D4}/t{task.Index:D6}");
}
