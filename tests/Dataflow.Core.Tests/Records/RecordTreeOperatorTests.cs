using System.Globalization;
using System.Text;

namespace Dataflow.Core.Tests.Records;

public sealed class RecordTreeOperatorTests
{
    private const string JobName = "typed-tree-test";

    private sealed class Int64Lines : TextRecordFormat<long>
    {
        public override long Parse(ReadOnlySpan<char> line) => long.Parse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

        public override void Format(long record, TextWriter output) => output.Write(record.ToString(CultureInfo.InvariantCulture));
    }

    private sealed class Sum : ICombiner<long>
    {
        public long Combine(long first, long second) => first + second;
    }

    private sealed class KeepFirst : ICombiner<long>
    {
        public long Combine(long first, long second) => first;
    }

    private static RecordTreeSpec<long> Sorted(ICombiner<long>? combiner = null, RecordFileFormat output = RecordFileFormat.Text) => new()
    {
        Name = "merge",
        Order = Comparer<long>.Default,
        Combiner = combiner,
        Text = new Int64Lines(),
        OutputFormat = output,
    };

    private static (IObjectOperator Intermediate, IObjectOperator Final) Operators(RecordTreeSpec<long> spec)
    {
        var job = Job.Named(JobName).FromPrefix("input/").ReduceTree(new ReduceTreeOptions { FanIn = 2 }, spec).WriteTo("output/all.txt");
        return (job.Tree!.Operator, job.Tree.FinalOperator);
    }

    private static BytesInput Text(string key, params long[] numbers) =>
        new BytesInput(key, Encoding.UTF8.GetBytes(string.Concat(numbers.Select(n => n.ToString(CultureInfo.InvariantCulture) + "\n"))));

    private static async Task<byte[]> BinaryAsync(params long[] numbers)
    {
        using var stream = new MemoryStream();
        var writer = RecordStreams.CreateWriter(stream, RecordFileFormat.Binary, RecordCodecs.Varint64);
        foreach (var n in numbers)
        {
            await writer.WriteAsync(n);
        }

        await writer.FlushAsync();
        return stream.ToArray();
    }

    private static async Task<List<long>> ReadAsync(byte[] bytes, RecordFileFormat format)
    {
        var records = new List<long>();
        await using var reader = RecordStreams.OpenReader(new MemoryStream(bytes), format, "output", RecordCodecs.Varint64, new Int64Lines());
        while (await reader.MoveNextAsync())
        {
            records.Add(reader.Current);
        }

        return records;
    }

    private static async Task<byte[]> RunAsync(IObjectOperator op, params TaskInput[] inputs)
    {
        var context = new MemoryTaskContext(inputs, ["out"]);
        await op.ExecuteAsync(context, CancellationToken.None);
        return context.Outputs["out"].ToArray();
    }

    [Fact]
    public void ReduceTree_TypedSpec_JobHasAnIntermediateAndAFinalOperator()
    {
        var job = Job.Named(JobName).FromPrefix("input/").ReduceTree(new ReduceTreeOptions { Widths = [3, 1] }, Sorted()).WriteTo("output/all.txt");

        Assert.Equal("merge", job.Tree!.Operator.Name);
        Assert.Equal("merge-final", job.Tree.FinalOperator.Name);
        Assert.Equal(["merge", "merge-final"], job.Operators.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ReduceTree_OneOperator_IsAlsoTheFinalOne()
    {
        var op = new ConcatOperator();

        var job = Job.Named(JobName).FromPrefix("input/").ReduceTree(2, op).WriteTo("output/all.txt");

        Assert.Same(op, job.Tree!.FinalOperator);
        Assert.Single(job.Operators);
    }

    [Fact]
    public void WriteTo_IntermediateAndFinalOperatorsOfOneName_Throws()
    {
        var builder = Job.Named(JobName).FromPrefix("input/").ReduceTree(new ReduceTreeOptions { FanIn = 2 }, new ConcatOperator(), new ConcatOperator());

        var error = Assert.Throws<JobDefinitionException>(() => builder.WriteTo("output/all.txt"));

        Assert.Contains("both named 'concat'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReduceTree_TextInputsWithoutATextFormat_ThrowsNamingTheMember()
    {
        var spec = new RecordTreeSpec<long> { Order = Comparer<long>.Default };

        var error = Assert.Throws<JobDefinitionException>(() => Operators(spec));

        Assert.Contains("RecordTreeSpec<Int64>.Text", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReduceTree_TypeWithoutABuiltInCodec_ThrowsNamingTheMember()
    {
        var spec = new RecordTreeSpec<DateTime> { InputFormat = RecordFileFormat.Binary, OutputFormat = RecordFileFormat.Binary };

        var error = Assert.Throws<JobDefinitionException>(() => Job.Named(JobName).FromPrefix("input/").ReduceTree(new ReduceTreeOptions { FanIn = 2 }, spec));

        Assert.Contains("RecordTreeSpec<DateTime>.Codec", error.Message, StringComparison.Ordinal);
    }

    private sealed class Dates : TextRecordFormat<DateOnly>
    {
        public override DateOnly Parse(ReadOnlySpan<char> line) => DateOnly.Parse(line, CultureInfo.InvariantCulture);

        public override void Format(DateOnly record, TextWriter output) => output.Write(record.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Final_TextThroughoutForATypeWithoutACodec_NeedsNoCodec()
    {
        var spec = new RecordTreeSpec<DateOnly> { Order = Comparer<DateOnly>.Default, Text = new Dates(), IntermediateFormat = RecordFileFormat.Text };
        var job = Job.Named(JobName).FromPrefix("input/").ReduceTree(new ReduceTreeOptions { FanIn = 2 }, spec).WriteTo("output/all.txt");
        var a = new BytesInput("input/a.txt", "2026-01-02\n2026-12-03\n"u8.ToArray());
        var b = new BytesInput("input/b.txt", "2025-05-05\n"u8.ToArray());

        var output = await RunAsync(job.Tree!.FinalOperator, a, b);

        Assert.Equal("2025-05-05\n2026-01-02\n2026-12-03\n", Encoding.UTF8.GetString(output));
    }

    [Fact]
    public async Task Intermediate_SortedTextInputs_WritesTheirMergeAsBinaryRecordsSmallerThanTheText()
    {
        var (intermediate, _) = Operators(Sorted());
        TaskInput[] inputs = [Text("input/a.txt", -1_000_000_007, 3, 900_000_000_001), Text("input/b.txt"), Text("input/c.txt", -5, 3, 3, 123_456_789_012)];

        var output = await RunAsync(intermediate, inputs);

        Assert.Equal([-1_000_000_007L, -5, 3, 3, 3, 123_456_789_012, 900_000_000_001], await ReadAsync(output, RecordFileFormat.Binary));
        Assert.True(output.Length < inputs.Sum(i => i.Length), $"{output.Length} binary bytes for {inputs.Sum(i => i.Length)} bytes of text");
    }

    [Fact]
    public async Task Intermediate_TextIntermediateFormat_WritesAndReadsText()
    {
        var spec = new RecordTreeSpec<long> { Order = Comparer<long>.Default, Text = new Int64Lines(), IntermediateFormat = RecordFileFormat.Text };
        var (intermediate, final) = Operators(spec);

        var level1 = await RunAsync(intermediate, Text("input/a.txt", 3, 8), Text("input/b.txt", 5));
        var level2 = await RunAsync(final, new RunInput("0/0:out", level1), new RunInput("0/1:out", "4\n"u8.ToArray()));

        Assert.Equal("3\n5\n8\n", Encoding.UTF8.GetString(level1));
        Assert.Equal("3\n4\n5\n8\n", Encoding.UTF8.GetString(level2));
    }

    [Fact]
    public async Task Final_BinaryInputsOfTheLevelBelow_WritesText()
    {
        var (_, final) = Operators(Sorted());

        var output = await RunAsync(final, new RunInput("0/0:out", await BinaryAsync(1, 4)), new RunInput("0/1:out", await BinaryAsync()), new RunInput("0/2:out", await BinaryAsync(-2, 4, 8)));

        Assert.Equal("-2\n1\n4\n4\n8\n", Encoding.UTF8.GetString(output));
    }

    [Fact]
    public async Task Final_BinaryOutputAsked_WritesBinaryRecords()
    {
        var (_, final) = Operators(Sorted(output: RecordFileFormat.Binary));

        var output = await RunAsync(final, new RunInput("0/0:out", await BinaryAsync(5, 6)), new RunInput("0/1:out", await BinaryAsync(1)));

        Assert.Equal(await BinaryAsync(1, 5, 6), output);
    }

    [Fact]
    public async Task Final_JobInputsInOneLevel_ReadsTextAndWritesText()
    {
        var (_, final) = Operators(Sorted());

        var output = await RunAsync(final, Text("input/a.txt", 2, 7), Text("input/b.txt", 1, 9));

        Assert.Equal("1\n2\n7\n9\n", Encoding.UTF8.GetString(output));
    }

    [Fact]
    public async Task Intermediate_OrderAndCombiner_FoldsEqualRecordsAcrossInputs()
    {
        var (intermediate, _) = Operators(Sorted(new KeepFirst()));

        var output = await RunAsync(intermediate, Text("input/a.txt", 1, 1, 2, 5), Text("input/b.txt", 1, 5, 6));

        Assert.Equal([1L, 2, 5, 6], await ReadAsync(output, RecordFileFormat.Binary));
    }

    [Fact]
    public async Task Final_NoOrderAndACombiner_FoldsEveryRecordIntoOne()
    {
        var (_, final) = Operators(new RecordTreeSpec<long> { Combiner = new Sum(), Text = new Int64Lines() });

        var output = await RunAsync(final, Text("input/a.txt", 5, 1), Text("input/b.txt"), Text("input/c.txt", 10));

        Assert.Equal("16\n", Encoding.UTF8.GetString(output));
    }

    [Fact]
    public async Task Final_NoOrderAndNoCombiner_ConcatenatesInInputOrder()
    {
        var (_, final) = Operators(new RecordTreeSpec<long> { Text = new Int64Lines() });

        var output = await RunAsync(final, Text("input/a.txt", 5, 1), Text("input/b.txt", 3));

        Assert.Equal("5\n1\n3\n", Encoding.UTF8.GetString(output));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Final_MoreInputsThanItMayHoldOpen_NeverOpensMoreAndWritesTheSameOutput(bool ordered)
    {
        // A store whose reads share a pool of connections (S3) bounds the inputs a task may hold open: a 300-way merge
        // that opened them all could wait for ever on connections that the other tasks hold. Sorted, the inputs are
        // merged in groups on local disk first; in input order, one is open at a time.
        var spec = ordered ? Sorted(new KeepFirst()) : new RecordTreeSpec<long> { Text = new Int64Lines() };
        var (_, final) = Operators(spec);
        var open = new OpenCount();
        TaskInput[] Inputs() => [.. Enumerable.Range(0, 11).Select(i => new CountedInput(Text($"input/{i:D2}.txt", i % 3, 5, 10 + i), open))];
        var unbounded = new MemoryTaskContext(Inputs(), ["out"]);
        var bounded = new MemoryTaskContext(Inputs(), ["out"]) { OpenInputs = 3 };

        await final.ExecuteAsync(unbounded, CancellationToken.None);
        open.Most = 0;
        await final.ExecuteAsync(bounded, CancellationToken.None);

        Assert.Equal(unbounded.Text("out"), bounded.Text("out"));
        Assert.InRange(open.Most, 1, ordered ? 3 : 1);
        Assert.Equal(0, open.Now);
        Assert.Equal(
            ordered ? "0,1,2,5,10,11,12,13,14,15,16,17,18,19,20," : string.Concat(Enumerable.Range(0, 11).Select(i => $"{i % 3},5,{10 + i},")),
            bounded.Text("out").Replace("\n", ",", StringComparison.Ordinal));
    }

    /// <summary>How many inputs are open now, and the most at once.</summary>
    private sealed class OpenCount
    {
        public int Now;
        public int Most;
    }

    /// <summary>An input whose open streams are counted.</summary>
    private sealed class CountedInput(BytesInput inner, OpenCount count) : TaskInput
    {
        public override string Name => inner.Name;

        public override long Length => inner.Length;

        public override InputSplit? Split => inner.Split;

        public override async ValueTask<Stream> OpenReadAsync(CancellationToken cancellationToken = default)
        {
            var now = Interlocked.Increment(ref count.Now);
            count.Most = Math.Max(count.Most, now);
            return new Counted(await inner.OpenReadAsync(cancellationToken), count);
        }

        private sealed class Counted(Stream inner, OpenCount count) : Stream
        {
            private int _closed;

            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => false;

            public override long Length => inner.Length;

            public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

            public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

            public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                if (disposing && Interlocked.Exchange(ref _closed, 1) == 0)
                {
                    Interlocked.Decrement(ref count.Now);
                    inner.Dispose();
                }

                base.Dispose(disposing);
            }
        }
    }

    [Fact]
    public async Task Intermediate_AllInputsEmpty_WritesAnEmptyOutput()
    {
        var (intermediate, _) = Operators(Sorted());

        var output = await RunAsync(intermediate, Text("input/a.txt"), Text("input/b.txt"));

        Assert.Empty(output);
    }

    [Fact]
    public async Task Intermediate_UnsortedInput_FailsNamingIt()
    {
        var (intermediate, _) = Operators(Sorted());

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => RunAsync(intermediate, Text("input/a.txt", 1, 2), Text("input/b.txt", 4, 3)));

        Assert.Contains("input/b.txt", error.Message, StringComparison.Ordinal);
        Assert.Contains("not sorted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Intermediate_LineThatIsNoRecord_FailsNamingTheObjectAndLine()
    {
        var (intermediate, _) = Operators(Sorted());
        var input = new BytesInput("input/bad.txt", "1\n2\nthree\n"u8.ToArray());

        var error = await Assert.ThrowsAsync<RecordProcessingException>(() => RunAsync(intermediate, input));

        Assert.Contains("input/bad.txt", error.Message, StringComparison.Ordinal);
        Assert.Contains("line 3", error.Message, StringComparison.Ordinal);
    }
}
