using System.Globalization;
using System.Text;

namespace Dataflow.Core;

/// <summary>
/// The reduce task of a map-reduce step: merges its partition's sorted runs (one per map task) in key order,
/// streaming, and writes the reducer's result for each key as a line. Its read buffers stay within the memory
/// budget: with more runs than the budget allows at once, groups of runs are first merged into runs on local disk.
/// </summary>
internal sealed class ReduceOperator<TKey, TValue, TResult>(MapReduceTypes<TKey, TValue> types, Reducer<TKey, TValue, TResult> reducer, long memoryBudget, string? version = null) : IObjectOperator
    where TKey : notnull
{
    public const string OperatorName = "reduce";

    /// <summary>The read buffer of one run.</summary>
    internal const int ReadBuffer = 64 * 1024;

    public string Name => OperatorName;

    public string? Version => version;

    /// <summary>How many runs a task merges at once within its memory budget and the inputs it may hold open.</summary>
    internal int FanIn(ObjectTaskContext context) => (int)Math.Clamp(Math.Min(memoryBudget / ReadBuffer, context.MaxOpenInputs), 2, 4096);

    /// <summary>Passes through local disk in the last task (for tests).</summary>
    internal int LastSpillPasses { get; private set; }

    public async ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var sources = context.Inputs.Select(input => (Func<ValueTask<Stream>>)(() => input.OpenReadAsync(cancellationToken))).ToList();
        string? spillFolder = null;
        var passes = 0;
        var fanIn = FanIn(context);
        try
        {
            while (sources.Count > fanIn)
            {
                // Too many runs to read at once: merge them in groups into runs on local disk, and merge those.
                spillFolder ??= Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "dataflow-spill", Guid.NewGuid().ToString("N"))).FullName;
                var merged = new List<Func<ValueTask<Stream>>>();
                for (var i = 0; i < sources.Count; i += fanIn)
                {
                    var path = Path.Combine(spillFolder, string.Create(CultureInfo.InvariantCulture, $"reduce-{passes:D2}-{merged.Count:D5}.run"));
                    await MergeToFileAsync(sources.GetRange(i, Math.Min(fanIn, sources.Count - i)), path, cancellationToken).ConfigureAwait(false);
                    merged.Add(() => ValueTask.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous)));
                }

                sources = merged;
                passes++;
            }

            LastSpillPasses = passes;
            var output = await context.CreateOutputAsync(context.OutputNames[0], cancellationToken).ConfigureAwait(false);
            await using (output.ConfigureAwait(false))
            {
                var text = new StreamWriter(output, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 64 * 1024) { NewLine = "\n" };
                await using (text.ConfigureAwait(false))
                {
                    await using var merger = await OpenAsync(sources, cancellationToken).ConfigureAwait(false);
                    while (await merger.MoveNextAsync(cancellationToken).ConfigureAwait(false))
                    {
                        TResult result;
                        try
                        {
                            result = reducer.Reduce(merger.Key, merger.Values);
                        }
                        catch (Exception ex) when (ex is not OperationCanceledException)
                        {
                            throw new RecordProcessingException(
                                $"reduce task {context.TaskId} of job '{context.JobName}': the reducer failed on key '{merger.Key}': {ex.Message}", ex);
                        }

                        reducer.Format(merger.Key, result, text);
                    }
                }
            }
        }
        finally
        {
            if (spillFolder is not null)
            {
                try
                {
                    Directory.Delete(spillFolder, recursive: true);
                }
                catch (IOException)
                {
                    // Left under the temporary folder: harmless.
                }
            }
        }
    }

    private async Task MergeToFileAsync(List<Func<ValueTask<Stream>>> sources, string path, CancellationToken cancellationToken)
    {
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        await using (file.ConfigureAwait(false))
        {
            var writer = new SortedRunWriter<TKey, TValue>(file, types.KeyCodec, types.ValueCodec);
            await using var merger = await OpenAsync(sources, cancellationToken).ConfigureAwait(false);
            while (await merger.MoveNextAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var value in merger.Values)
                {
                    await writer.WriteAsync(merger.Key, value, cancellationToken).ConfigureAwait(false);
                }
            }

            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<SortedRunMerger<TKey, TValue>> OpenAsync(List<Func<ValueTask<Stream>>> sources, CancellationToken cancellationToken)
    {
        var readers = new List<SortedRunReader<TKey, TValue>>(sources.Count);
        try
        {
            for (var i = 0; i < sources.Count; i++)
            {
                readers.Add(new SortedRunReader<TKey, TValue>(await sources[i]().ConfigureAwait(false), types.KeyCodec, types.ValueCodec, $"run {i}", ReadBuffer, cancellationToken));
            }
        }
        catch
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        return new SortedRunMerger<TKey, TValue>(readers, types.KeyComparer, types.Combiner);
    }
}
