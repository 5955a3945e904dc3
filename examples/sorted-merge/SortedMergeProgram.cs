using System.Globalization;
using Dataflow.Core;
using Dataflow.Hosting;
using Dataflow.Planner;
using Dataflow.Storage;

namespace Dataflow.Examples.SortedMerge;

/// <summary>
/// A typed reduce tree as a Dataflow program: N objects of sorted numbers (300 by default, every seventh empty) merged
/// into one sorted object by k-way merges level by level (fan-in 4 by default, or widths such as 75,19,5,1). The job's
/// inputs are parsed as text once, the levels between pass binary records, and the last level writes text (or binary
/// records). The output is checked against a plain sort of every input number.
/// </summary>
public static class SortedMergeProgram
{
    /// <summary>Builds the program: its options, job, input generation and verification.</summary>
    public static DataflowApp Create()
    {
        var app = new DataflowApp(
            "sorted-merge",
            "Merges objects of sorted numbers (one per line) into one sorted object in a typed reduce tree (binary records between levels) and verifies it against a plain sort. Creates the inputs first when the prefix is empty.",
            defaultInput: "input/",
            defaultOutput: "output/sorted.txt");

        var files = app.AddOption("--files", "How many input objects to create when the input prefix is empty (every seventh is empty).", 300, "N",
            validate: n => n is >= 1 and <= 1_000_000 ? null : "must be between 1 and 1,000,000");
        var numbers = app.AddOption("--numbers", "Mean count of numbers in a created (non-empty) input object; each holds between half and 1.5 times as many.", 4000, "N",
            validate: n => n is >= 1 and <= 100_000_000 ? null : "must be between 1 and 100,000,000");
        var seed = app.AddOption("--seed", "Seed of the created numbers (the same seed creates the same objects).", 42, "S");
        var fanIn = app.AddOption<int?>("--fan-in", "Objects merged by one task. Default 4 unless --widths is given.", null, "K");
        var widths = app.AddOption<IReadOnlyList<int>?>("--widths", "Tasks per level instead of a fan-in, strictly decreasing to 1, e.g. 75,19,5,1.", null, "W1,W2,...,1",
            parse: ReduceTreeOptions.ParseWidths);
        var outputFormat = app.AddOption("--output-format", "What the last level writes: text (a number per line) or binary (the binary record format, zig-zag varints).", RecordFileFormat.Text, "text|binary",
            parse: ParseFormat);

        var intermediateFormat = app.AddOption("--intermediate-format", "What the levels below the last write: binary (the default) or text (a number per line, as a tree of untyped operators would; for comparison and debugging).", RecordFileFormat.Binary, "binary|text",
            parse: ParseFormat);

        ReduceTreeOptions Shape(RunContext context) => new()
        {
            FanIn = context.Get(fanIn) ?? (context.Get(widths) is null ? 4 : null),
            Widths = context.Get(widths),
        };

        app.DefineJob(context => SortedMergeJob.Create(context.InputPrefix, Shape(context), context.OutputKey, context.Get(outputFormat), context.Get(intermediateFormat)));

        app.BeforeRun(async (context, cancellationToken) =>
        {
            if (await context.UseExistingInputsAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            var count = context.Get(files);

            // Refuse a shape that cannot fit the inputs (widths wider than the file count) before writing any.
            _ = TreeShape.LevelWidths("sorted-merge", Shape(context), count);
            context.Info(string.Create(CultureInfo.InvariantCulture, $"creating {count} objects of about {context.Get(numbers)} sorted numbers under '{context.InputPrefix}' (every seventh empty; seed {context.Get(seed)})"));
            await NumberGenerator.WriteAsync(context.Store, context.InputPrefix, count, context.Get(numbers), context.Get(seed), context.Concurrency, cancellationToken).ConfigureAwait(false);
        });

        app.Verify(async (context, result, cancellationToken) =>
        {
            var expected = new List<long>();
            var text = new Int64Lines();
            foreach (var input in result.Plan.Inputs)
            {
                await ReadAllAsync(context.Store, input.Key, RecordFileFormat.Text, text, expected, cancellationToken).ConfigureAwait(false);
            }

            expected.Sort();
            var actual = new List<long>(expected.Count);
            var output = result.Plan.Outputs[0].Key;
            await ReadAllAsync(context.Store, output, context.Get(outputFormat), text, actual, cancellationToken).ConfigureAwait(false);
            return Compare(output, expected, actual, result.Plan.Inputs.Count);
        });

        return app;
    }

    /// <summary>Whether <paramref name="actual"/> (the output) equals <paramref name="expected"/> (every input number, sorted); where they first differ if not.</summary>
    public static Verification Compare(string output, IReadOnlyList<long> expected, IReadOnlyList<long> actual, int inputs)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        for (var i = 0; i < Math.Min(expected.Count, actual.Count); i++)
        {
            if (expected[i] != actual[i])
            {
                return new Verification(false, string.Create(CultureInfo.InvariantCulture, $"'{output}': record {i + 1} is {actual[i]}, but the plain sort of the inputs has {expected[i]} there"));
            }
        }

        return expected.Count == actual.Count
            ? new Verification(true, string.Create(CultureInfo.InvariantCulture, $"the output's {actual.Count} numbers equal a plain sort of the {inputs} inputs' numbers"))
            : new Verification(false, string.Create(CultureInfo.InvariantCulture, $"'{output}' holds {actual.Count} numbers, but the inputs hold {expected.Count}"));
    }

    private static async Task ReadAllAsync(IObjectStore store, string key, RecordFileFormat format, Int64Lines text, List<long> into, CancellationToken cancellationToken)
    {
        var stream = await store.OpenReadAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
        var reader = RecordStreams.OpenReader(stream, format, key, RecordCodecs.Varint64, text, cancellationToken);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.MoveNextAsync().ConfigureAwait(false))
            {
                into.Add(reader.Current);
            }
        }
    }

    private static RecordFileFormat ParseFormat(string text) => text switch
    {
        "text" => RecordFileFormat.Text,
        "binary" => RecordFileFormat.Binary,
        _ => throw new FormatException($"'{text}' is not an output format: use text or binary"),
    };
}
