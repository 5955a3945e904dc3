using System.Globalization;
using System.Text;
using System.Text.Json;
using Dataflow.Core;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>What commands print about runs: a run's summary (<c>run</c>, <c>resume</c>), runs as JSON (<c>runs</c>, <c>status</c>), and the commands that go on from a run.</summary>
internal static class RunSummaryText
{
    /// <summary>Writes a run's summary on stderr, and with <paramref name="json"/> as one JSON object on stdout.</summary>
    public static void Write(RunContext context, RunSummary summary, Verification? verification, string? reportUri, bool json)
    {
        var i = CultureInfo.InvariantCulture;
        context.Info(string.Create(i, $"run {summary.RunId} {summary.Status} in {summary.WallMs} ms: {summary.Tasks} tasks in {summary.Stages} stages ({summary.TasksRun} run, {summary.TasksSkipped} skipped, {summary.Attempts} attempts, {summary.Retries} retries, {summary.Failed} failed); read {ByteSize.Format(summary.BytesRead)}, wrote {ByteSize.Format(summary.BytesWritten)}"));
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

    /// <summary>The JSON that <paramref name="write"/> writes, as a string.</summary>
    public static string Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Writes a run of <c>runs --json</c> as an object.</summary>
    public static void WriteListing(Utf8JsonWriter writer, RunListing run)
    {
        writer.WriteStartObject();
        WriteListingProperties(writer, run);
        writer.WriteEndObject();
    }

    /// <summary>Writes the properties of a run's listing, which <c>status --json</c> extends.</summary>
    public static void WriteListingProperties(Utf8JsonWriter writer, RunListing run)
    {
        writer.WriteString("runId", run.RunId);
        writer.WriteString("job", run.Job);
        writer.WriteString("state", run.State);
        WriteNumberOrNull(writer, "tasks", run.Tasks);
        WriteNumberOrNull(writer, "tasksCommitted", run.TasksCommitted);
        if (run.Damage is not null)
        {
            writer.WriteString("damage", run.Damage);
        }

        writer.WriteNumber("intermediateObjects", run.IntermediateObjects);
        writer.WriteNumber("intermediateBytes", run.IntermediateBytes);
        if (run.Lease is { } lease)
        {
            writer.WriteStartObject("lease");
            writer.WriteString("holder", lease.Holder);
            writer.WriteString("expiresAt", lease.ExpiresAt);
            writer.WriteBoolean("live", lease.IsLive);
            if (lease.Workflow is not null)
            {
                writer.WriteString("workflow", lease.Workflow);
            }

            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("lease");
        }

        writer.WritePropertyName("summary");
        if (run.Summary is { } summary)
        {
            using var document = JsonDocument.Parse(summary.ToJson());
            document.RootElement.WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

    /// <summary>Writes a number, or <c>null</c> when there is none.</summary>
    public static void WriteNumberOrNull(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
