using System.Globalization;
using Dataflow.Core;
using Dataflow.Hosting;
using Dataflow.Planner;
using Dataflow.Storage;

namespace Dataflow.Examples.MergeFiles;

/// <summary>
/// The seed cascade of Alibaba Cloud's Argo demo, as a Dataflow program: N one-letter objects merged in a reduce
/// tree (fan-in 2 by default: 512 → 256 → … → 1), then checked against the inputs' concatenation in key order.
/// </summary>
public static class MergeFilesProgram
{
    /// <summary>Builds the program: its options, job, input generation and verification.</summary>
    public static DataflowApp Create()
    {
        var app = new DataflowApp(
            "merge-files",
            "Merges the objects under an input prefix in a reduce tree (fan-in 2 by default: 512 -> 256 -> ... -> 1) and verifies that the output is their concatenation in key order. Creates the inputs first when the prefix is empty.",
            defaultInput: "input/",
            defaultOutput: "output/merged.txt");

        var files = app.AddOption("--files", "How many input objects to create when the input prefix is empty.", 512, "N",
            validate: n => n is >= 1 and <= 10_000_000 ? null : "must be between 1 and 10,000,000");
        var fileSize = app.AddOption("--file-size", "Size of each created input object: bytes or KiB/MiB/GiB. Each is that many random letters A-Z.", 1L, "SIZE",
            parse: ByteSize.Parse, validate: n => n is >= 1 and <= 1L << 40 ? null : "must be between 1 byte and 1 TiB");
        var seed = app.AddOption("--seed", "Seed of the random letters of created inputs (the same seed creates the same objects).", 42, "S");
        var fanIn = app.AddOption<int?>("--fan-in", "Objects merged by one task. Default 2 unless --widths is given.", null, "K");
        var widths = app.AddOption<IReadOnlyList<int>?>("--widths", "Tasks per level instead of a fan-in, strictly decreasing to 1, e.g. 256,128,64,32,16,8,4,2,1.", null, "W1,W2,...,1",
            parse: ReduceTreeOptions.ParseWidths);
        var minReference = app.AddOption("--min-reference-size", "Intermediate merges of pieces at least this large record where the bytes are instead of copying them; the final merge copies them once.", ConcatenationOptions.Default.MinReferenceSegmentBytes, "SIZE",
            parse: ByteSize.Parse);

        var taskDelay = app.AddOption("--task-delay", "Each merge waits this long before it merges: to watch a run grow in the ui command (or a progress display); the output is the same.", TimeSpan.Zero, "DURATION",
            parse: Duration.Parse, validate: d => d >= TimeSpan.Zero && d <= TimeSpan.FromMinutes(10) ? null : "must be between 0s and 10m");

        ReduceTreeOptions Shape(RunContext context) => new()
        {
            FanIn = context.Get(fanIn) ?? (context.Get(widths) is null ? 2 : null),
            Widths = context.Get(widths),
        };

        app.DefineJob(context =>
        {
            var shape = Shape(context);
            IObjectOperator concat = new ConcatOperator(new ConcatenationOptions { MinReferenceSegmentBytes = context.Get(minReference) });
            if (context.Get(taskDelay) is { Ticks: > 0 } delay)
            {
                concat = new DelayedOperator(concat, delay);
            }

            return Job.Named("merge-files")
                .FromPrefix(context.InputPrefix)
                .ReduceTree(shape, concat)
                .WriteTo(context.OutputKey);
        });

        app.BeforeRun(async (context, cancellationToken) =>
        {
            if (await context.UseExistingInputsAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            var count = context.Get(files);
            var size = context.Get(fileSize);

            // Refuse a shape that cannot fit the inputs (widths wider than the file count) before writing any.
            _ = TreeShape.LevelWidths("merge-files", Shape(context), count);
            context.Info(string.Create(CultureInfo.InvariantCulture, $"creating {count} input objects of {ByteSize.Format(size)} under '{context.InputPrefix}' (seed {context.Get(seed)})"));
            await InputGenerator.WriteAsync(context.Store, context.InputPrefix, count, size, context.Get(seed), context.Concurrency, cancellationToken).ConfigureAwait(false);
        });

        app.Verify(async (context, result, cancellationToken) =>
        {
            var inputs = result.Plan.Inputs;
            var difference = await context.Store.FindDifferenceAsync(
                result.Plan.Outputs[0].Key,
                inputs.Select(i => ObjectSegment.Whole(i.Key, i.Size)).ToArray(),
                cancellationToken).ConfigureAwait(false);
            var bytes = inputs.Sum(i => i.Size);
            return difference is null
                ? new Verification(true, string.Create(CultureInfo.InvariantCulture, $"the output ({ByteSize.Format(bytes)}) equals the {inputs.Count} inputs concatenated in key order"))
                : new Verification(false, difference);
        });

        return app;
    }

    /// <summary>An operator that waits before it runs another (<c>--task-delay</c>): same name, version and output.</summary>
    private sealed class DelayedOperator(IObjectOperator inner, TimeSpan delay) : IObjectOperator
    {
        public string Name => inner.Name;

        public string? Version => inner.Version;

        public async ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken)
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            await inner.ExecuteAsync(context, cancellationToken).ConfigureAwait(false);
        }
    }
}
