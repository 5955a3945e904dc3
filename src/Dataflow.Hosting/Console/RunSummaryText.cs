using System.Globalization;
using Dataflow.Core;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>What commands print about runs: a run's summary (<c>run</c>, <c>resume</c>), and the commands that go on from a run.</summary>
internal static class RunSummaryText
{
    /// <summary>Writes a run's summary on stderr, and with <paramref name="json"/> as one JSON object on stdout.</summary>
    public static void Write(RunContext context, RunSummary summary, Verification? verification, string? reportUri, bool json)
    {
        var i = CultureInfo.InvariantCulture;
        context.Info(string.Create(i, $"run {summary.RunId} {summary.Status}{(summary.Partial ? " (partial)" : string.Empty)} in {summary.WallMs} ms: {summary.Tasks} tasks in {summary.Stages} stages ({summary.TasksRun} run, {summary.TasksSkipped} skipped, {summary.TasksCached} cached, {summary.Attempts} attempts, {summary.Retries} retries, {summary.Failed} failed); read {ByteSize.Format(summary.BytesRead)}, wrote {ByteSize.Format(summary.BytesWritten)}"));
        if (summary.Cache is { } cache)
        {
            context.Info(string.Create(i, $"task cache ({cache.Mode}): {summary.TasksCached} of {cache.TasksWithKey} tasks with a key taken from it ({string.Join(", ", cache.TasksCached)} by stage); {cache.EntriesWritten} entries added, {cache.EntriesInvalid} found not usable"));
            foreach (var reason in cache.Reasons ?? [])
            {
                context.Info($"  {reason}");
            }
        }
        if (summary.FailedInputs is { Count: > 0 } failedInputs)
        {
            // A partial success (or a failed run that had tolerated failures before the one that failed it).
            var shown = string.Join(", ", failedInputs.Take(20).Select(k => $"'{k}'"));
            var more = failedInputs.Count > 20 ? string.Create(i, $" and {failedInputs.Count - 20} more") : string.Empty;
            context.Info(string.Create(i, $"{(summary.Partial ? "PARTIAL: " : string.Empty)}{failedInputs.Count} input{(failedInputs.Count == 1 ? "" : "s")} failed ({summary.TasksTolerated} task{(summary.TasksTolerated == 1 ? "" : "s")} tolerated by --max-failed-inputs) and {(failedInputs.Count == 1 ? "is" : "are")} left out of the output: {shown}{more}"));
        }

        if (summary.Output is not null)
        {
            context.Info($"output {summary.Output}");
        }

        if (verification is not null)
        {
            context.Info(verification.Verified ? $"verified: {verification.Detail}" : $"NOT verified: {verification.Detail}");
        }

        context.Info(string.Create(i, $"intermediate objects left: {summary.IntermediateObjectsLeft}; run records under {RunIds.RecordsPrefix(summary.RunId)}"));
        if (reportUri is not null)
        {
            context.Info($"report {reportUri}");
        }

        if (json)
        {
            context.Console.Out.WriteLine(summary.ToJson());
        }
    }

    /// <summary>The address of the run's report, if one is stored.</summary>
    public static async Task<string?> UriAsync(JobRunner runner, string runId, CancellationToken cancellationToken) =>
        await runner.ReportExistsAsync(runId, cancellationToken).ConfigureAwait(false) ? runner.GetReportUri(runId) : null;

    /// <summary>The command line that resumes a run: <c>'&lt;program&gt; resume &lt;run&gt; --store &lt;store&gt;'</c>.</summary>
    public static string ResumeCommand(string program, string runId, string store) => $"'{program} resume {runId} --store {store}'";

    /// <summary>What goes on from a run that failed: its <c>resume</c> and <c>gc</c> command lines.</summary>
    public static string WhatNext(string program, string runId, string store) =>
        $"{ResumeCommand(program, runId, store)} runs the rest, '{program} gc {runId} --store {store}' deletes it";
}
