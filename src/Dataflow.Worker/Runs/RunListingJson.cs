using System.Text.Encodings.Web;
using System.Text;
using System.Text.Json;

namespace Dataflow.Worker;

/// <summary>
/// Runs as JSON — what <c>runs --json</c> and <c>status --json</c> print, one schema for every program:
/// <see cref="RunListing.ToJson"/> and <see cref="RunStatus.ToJson"/>.
/// </summary>
internal static class RunListingJson
{
    /// <summary>The JSON that <paramref name="write"/> writes, as a string.</summary>
    public static string Write(Action<Utf8JsonWriter> write, bool indented)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>A run's listing as an object.</summary>
    public static void WriteListing(Utf8JsonWriter writer, RunListing run)
    {
        writer.WriteStartObject();
        WriteListingProperties(writer, run);
        writer.WriteEndObject();
    }

    /// <summary>A run's status as an object: its listing's properties, then what the plan says and each stage.</summary>
    public static void WriteStatus(Utf8JsonWriter writer, RunStatus status)
    {
        writer.WriteStartObject();
        WriteListingProperties(writer, status.Run);
        if (status.CreatedAt is { } createdAt)
        {
            writer.WriteString("createdAt", createdAt);
        }
        else
        {
            writer.WriteNull("createdAt");
        }

        writer.WriteString("dataflowVersion", status.DataflowVersion);
        WriteNumberOrNull(writer, "inputs", status.InputCount);
        if (status.Arguments is { } arguments)
        {
            writer.WriteStartArray("arguments");
            foreach (var argument in arguments)
            {
                writer.WriteStringValue(argument);
            }

            writer.WriteEndArray();
        }
        else
        {
            writer.WriteNull("arguments");
        }

        writer.WriteStartArray("stages");
        foreach (var stage in status.Stages)
        {
            writer.WriteStartObject();
            writer.WriteString("name", stage.Name);
            writer.WriteNumber("tasks", stage.Tasks);
            writer.WriteNumber("committed", stage.Committed);
            writer.WriteNumber("cached", stage.Cached);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteListingProperties(Utf8JsonWriter writer, RunListing run)
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

            if (lease.CancelRequest is { } request)
            {
                writer.WriteStartObject("cancelRequest");
                writer.WriteString("requestedBy", request.RequestedBy);
                writer.WriteString("requestedAt", request.RequestedAt);
                writer.WriteString("reason", request.Reason);
                writer.WriteEndObject();
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

    private static void WriteNumberOrNull(Utf8JsonWriter writer, string name, long? value)
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
