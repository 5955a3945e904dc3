using System.Text;
using Dataflow.Core;
using Dataflow.Storage;
using Microsoft.Extensions.Logging;

namespace Dataflow.Worker;

/// <summary>
/// Runs jobs against one store on this machine: lists the inputs, plans, stores the plan, runs every task on the
/// local executor, publishes the final outputs, collects intermediate artifacts and stores a summary.
/// </summary>
/// <example>
/// <code>
/// var result = await JobRunner.RunInStoreAsync("/data/merge", job, cancellationToken: ct);
/// Console.WriteLine($"{result.Summary.Tasks} tasks in {result.Summary.WallMs} ms");
/// </code>
/// </example>
public sealed partial class JobRunner
{
    private readonly IObjectStore _store;
    private readonly JobRunnerOptions _options;
    private readonly ILogger _logger;
    private RunReport? _lastReport;

    /// <summary>Creates a runner for <paramref name="store"/>.</summary>
    /// <exception cref="ArgumentException">An option is out of range, or the options do not go together (see <see cref="JobRunnerOptions.Validate"/>).</exception>
    /// <exception cref="InvalidOperationException">
    /// This process was started as a worker process of a run, and creates a runner instead of serving that run: its
    /// program does not serve as its own worker.
    /// </exception>
    public JobRunner(IObjectStore store, JobRunnerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (NotServing(Environment.GetEnvironmentVariable(WorkerEnvironment.ServedPlan)) is { } notServing)
        {
            throw new InvalidOperationException(notServing);
        }

        _store = store;
        _options = options ?? new JobRunnerOptions();
        _options.Validate();
        _logger = _options.LoggerFactory.CreateLogger("Dataflow.Run");
    }

    /// <summary>
    /// Why this process must not drive a run: it was started as a pooled worker of the run at
    /// <paramref name="servedPlan"/> (<see cref="WorkerEnvironment.ServedPlan"/>) and did not serve it. Its program
    /// ignored its <c>worker</c> arguments; had it gone on, each of its own workers would have done the same.
    /// </summary>
    internal static string? NotServing(string? servedPlan) =>
        string.IsNullOrEmpty(servedPlan) ? null
        : $"this process was started as a worker process of the run at '{servedPlan}' (its arguments are 'worker --plan {servedPlan} --serve'), "
            + "but it creates a JobRunner instead of serving that run's tasks: make the program serve as its own worker first thing in Main, "
            + "e.g. 'if (await DataflowCommands.TryRunAsync(args, defineJob) is { } exitCode) return exitCode;'";

    /// <summary>
    /// Opens the store at <paramref name="storeLocation"/> — a folder path, <c>file://</c>, <c>s3://bucket/prefix</c>
    /// or <c>oss://bucket/prefix</c> (see <c>ObjectStore.OpenAsync</c>) — runs <paramref name="job"/> there once, as a
    /// new run, and closes the store.
    /// </summary>
    /// <param name="storeLocation">Where the job's inputs are and its outputs go.</param>
    /// <param name="job">The job.</param>
    /// <param name="options">How to run it; default <see cref="JobRunnerOptions"/>'s defaults.</param>
    /// <param name="cancellationToken">Stops the run promptly; nothing is published then.</param>
    /// <returns>The run's summary and plan.</returns>
    /// <exception cref="ArgumentException">The location is not a store address.</exception>
    /// <exception cref="JobDefinitionException">The job does not fit its inputs, or its output exists and overwriting is off.</exception>
    /// <exception cref="JobFailedException">A task failed on every attempt, or publishing failed.</exception>
    public static async Task<RunResult> RunInStoreAsync(string storeLocation, Job job, JobRunnerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storeLocation);
        ArgumentNullException.ThrowIfNull(job);
        var store = await ObjectStore.OpenAsync(storeLocation, cancellationToken: cancellationToken).ConfigureAwait(false);
        await using (store.ConfigureAwait(false))
        {
            return await new JobRunner(store, options).RunAsync(job, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs <paramref name="job"/> once, as a new run.</summary>
    /// <param name="job">The job.</param>
    /// <param name="progress">Updated as the run goes, for a progress display; optional.</param>
    /// <param name="cancellationToken">Stops the run promptly; nothing is published then.</param>
    /// <returns>The run's summary and plan.</returns>
    /// <exception cref="JobDefinitionException">The job does not fit its inputs (none, too few for the widths), its output exists and overwriting is off, or the run id is taken.</exception>
    /// <exception cref="JobFailedException">A task failed on every attempt, or publishing failed; the exception carries the run's summary.</exception>
    /// <exception cref="RunLeaseException">Another driver holds the run's lease.</exception>
    /// <exception cref="RunCancelledException">The run was cancelled once its plan was stored: the exception carries its id and summary.</exception>
    /// <exception cref="OperationCanceledException">The run was cancelled before its plan was stored (there is nothing to resume).</exception>
    public Task<RunResult> RunAsync(Job job, RunProgress? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        return DriveAsync(job, new RunLayout(_options.RunId ?? RunLayout.NewRunId(_options.TimeProvider)), resume: false, progress, cancellationToken);
    }

    /// <summary>
    /// Plans <paramref name="job"/> as a new run and stores the plan, without running it: what a cluster runs from
    /// (see <c>plan --emit argo</c>). Resume the run, or submit its manifest, to run it.
    /// </summary>
    /// <returns>The stored plan.</returns>
    /// <exception cref="JobDefinitionException">The job does not fit its inputs, its output exists and overwriting is off, or the run id is taken.</exception>
    public async Task<Plan> PlanAsync(Job job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var layout = new RunLayout(_options.RunId ?? RunLayout.NewRunId(_options.TimeProvider));
        var plan = await CreatePlanAsync(job, layout, new RunProgress(), cancellationToken).ConfigureAwait(false);
        await PlanStore.SaveAsync(_store, plan, cancellationToken: cancellationToken).ConfigureAwait(false);
        return plan;
    }

    /// <summary>
    /// Resumes run <paramref name="runId"/> of <paramref name="job"/> after its driver stopped (killed, crashed,
    /// cancelled or failed): tasks that committed are not run again, the others are; garbage collection catches up
    /// with what the committed tasks freed; the output is what an uninterrupted run would have made.
    /// </summary>
    /// <param name="job">The job the run was started with (same name and operators).</param>
    /// <param name="runId">The run to resume.</param>
    /// <param name="progress">Updated as the run goes; optional.</param>
    /// <param name="cancellationToken">Stops the run promptly; it can be resumed again.</param>
    /// <returns>The run's summary (<see cref="RunSummary.TasksSkipped"/> counts the tasks found committed) and plan.</returns>
    /// <exception cref="JobDefinitionException">The run does not exist, or belongs to another job.</exception>
    /// <exception cref="JobFailedException">A task failed on every attempt, or publishing failed.</exception>
    /// <exception cref="RunLeaseException">Another driver holds the run's lease.</exception>
    /// <exception cref="RunCancelledException">The run was cancelled once its plan was stored: the exception carries its id and summary.</exception>
    /// <exception cref="OperationCanceledException">The run was cancelled before its plan was stored (there is nothing to resume).</exception>
    public Task<RunResult> ResumeAsync(Job job, string runId, RunProgress? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        return DriveAsync(job, new RunLayout(runId), resume: true, progress, cancellationToken);
    }

    /// <summary>The plan of run <paramref name="runId"/>, or <see langword="null"/> when the store holds no such run.</summary>
    /// <exception cref="InvalidDataException">The plan is not a valid plan.</exception>
    public static Task<Plan?> LoadPlanAsync(IObjectStore store, string runId, CancellationToken cancellationToken = default) =>
        PlanStore.LoadAsync(store, runId, cancellationToken);

    /// <summary>
    /// Why <paramref name="store"/> cannot hold <paramref name="job"/>'s output (a key too long for the folder or the
    /// bucket), naming the key; <see langword="null"/> when it can. Checked before a run does any work.
    /// </summary>
    public static string? CheckOutputs(IObjectStore store, Job job)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(job);
        var key = job.MapReduce is { } step
            ? step.MergedOutputKey ?? MapReduceStep.PartKey(job.OutputKey, step.Reducers - 1)
            : job.OutputKey;
        return store.CheckKey(key) is { } reason ? $"the output '{key}' cannot be stored in {store.Location}: {reason}" : null;
    }

    /// <summary>
    /// The key of an object that <paramref name="job"/>'s output would replace, or <see langword="null"/>: the output
    /// key of a reduce tree; for map-reduce any object under the output prefix, or the merged output.
    /// </summary>
    public static async Task<string?> FindExistingOutputAsync(IObjectStore store, Job job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(job);
        if (job.MapReduce is { MergedOutputKey: { } merged } && await store.ExistsAsync(merged, cancellationToken).ConfigureAwait(false))
        {
            return merged;
        }

        if (!job.OutputIsPrefix)
        {
            return await store.ExistsAsync(job.OutputKey, cancellationToken).ConfigureAwait(false) ? job.OutputKey : null;
        }

        await foreach (var info in store.ListAsync(job.OutputKey, cancellationToken).ConfigureAwait(false))
        {
            return info.Key;
        }

        return null;
    }

    /// <summary>
    /// Stores the run report as <c>report.json</c> and <c>report.html</c> in the run's folder (unless turned off).
    /// Best effort: a report that cannot be stored is logged, and fails no run.
    /// </summary>
    private async Task WriteReportAsync(RunReport report)
    {
        if (!_options.Report)
        {
            return;
        }

        var layout = new RunLayout(report.Summary.RunId);
        try
        {
            await _store.PutAsync(layout.ReportKey, RunRecords.Serialize(report), CancellationToken.None).ConfigureAwait(false);
            await _store.PutAsync(layout.ReportHtmlKey, Encoding.UTF8.GetBytes(RunReportHtml.Render(report)), CancellationToken.None).ConfigureAwait(false);
            _lastReport = report;
        }
        catch (IOException ex)
        {
            Log.ReportNotStored(_logger, ex.Message, ex);
        }
    }

    /// <summary>
    /// Stores <paramref name="summary"/> as its run's <c>summary.json</c>, replacing what is there (e.g. to record that
    /// the output was verified); the run report, when there is one, gets the new summary too.
    /// </summary>
    public async Task WriteSummaryAsync(RunSummary summary, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var layout = new RunLayout(summary.RunId);
        await PutSummaryAsync(summary, cancellationToken).ConfigureAwait(false);
        if (!_options.Report)
        {
            return;
        }

        // The report this runner just wrote (the usual case: a program records that it verified the output), or
        // the one in the store.
        var report = _lastReport?.Summary.RunId == summary.RunId ? _lastReport : null;
        if (report is null && await ReportExistsAsync(summary.RunId, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                report = RunRecords.DeserializeReport(await _store.ReadAllBytesAsync(layout.ReportKey, cancellationToken).ConfigureAwait(false));
            }
            catch (InvalidDataException ex)
            {
                Log.ReportNotStored(_logger, ex.Message, ex);
            }
        }

        if (report is not null)
        {
            await WriteReportAsync(report with { Summary = summary }).ConfigureAwait(false);
        }
    }

    private async Task PutSummaryAsync(RunSummary summary, CancellationToken cancellationToken) =>
        await _store.PutAsync(new RunLayout(summary.RunId).SummaryKey, RunRecords.Serialize(summary, indented: true), cancellationToken).ConfigureAwait(false);

    /// <summary>The address of run <paramref name="runId"/>'s report page, <c>report.html</c> (whether or not it has been stored).</summary>
    /// <exception cref="ArgumentException"><paramref name="runId"/> is not a run id.</exception>
    public string GetReportUri(string runId) => _store.GetUri(new RunLayout(runId).ReportHtmlKey);

    /// <summary>Whether run <paramref name="runId"/> has a stored report (<c>report.html</c> and <c>report.json</c>).</summary>
    public async Task<bool> ReportExistsAsync(string runId, CancellationToken cancellationToken = default) =>
        _lastReport?.Summary.RunId == runId || await _store.ExistsAsync(new RunLayout(runId).ReportKey, cancellationToken).ConfigureAwait(false);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Starting a run of job {Job} ({RunId}) in {Store}")]
        public static partial void RunStarting(ILogger logger, string job, string runId, string store);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Resuming run {RunId} of job {Job} in {Store}")]
        public static partial void RunResuming(ILogger logger, string job, string runId, string store);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Planned {Stages} stages, {Tasks} tasks, on the {Executor} executor")]
        public static partial void Planned(ILogger logger, int stages, int tasks, string executor);

        [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Run {Status}: {TasksRun} tasks run, {TasksSkipped} skipped, {Retries} retries, {WallMs} ms")]
        public static partial void RunEnded(ILogger logger, string status, int tasksRun, int tasksSkipped, int retries, long wallMs);

        [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "The run failed: {Error}")]
        public static partial void RunFailed(ILogger logger, string error, Exception exception);

        [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "The run report could not be stored: {Error}")]
        public static partial void ReportNotStored(ILogger logger, string error, Exception exception);

        [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Removed {Files} temporary files ({Bytes} bytes) that writers which died left in the store")]
        public static partial void LeftoversRemoved(ILogger logger, int files, long bytes);

        [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Temporary files of writers that died could not be removed: {Error}")]
        public static partial void LeftoversNotRemoved(ILogger logger, string error, Exception exception);

        [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "Task cache: {WithKey} tasks have a key, {Lookups} looked up, {Hits} taken from the cache, {Invalid} entries not usable")]
        public static partial void CacheChecked(ILogger logger, int withKey, int lookups, int hits, int invalid);
    }
}
