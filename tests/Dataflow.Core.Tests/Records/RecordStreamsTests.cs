using System.Globalization;
using System.Text;

namespace Dataflow.Core.Tests.Records;

public sealed class RecordStreamsTests
{
    private sealed class Words : TextRecordFormat<string>
    {
        public override string Parse(ReadOnlySpan<char> line) => line.ToString();

        public override void Format(string record, TextWriter output) => output.Write(record);
    }

    private static async Task<List<T>> ReadAllAsync<T>(Stream stream, RecordFileFormat format, RecordCodec<T>? codec = null, TextRecordFormat<T>? text = null)
    {
        var records = new List<T>();
        await using var reader = RecordStreams.OpenReader(stream, format, "input/x", codec, text);
        while (await reader.MoveNextAsync())
        {
            records.Add(reader.Current);
        }

        return records;
    }

    [Fact]
    public async Task BinaryWriterAndReader_ManyRecordsThroughATinyChunkedStream_RoundTrip()
    {
        var records = Enumerable.Range(0, 50_000).Select(i => "r" + i.ToString(CultureInfo.InvariantCulture) + new string('x', i % 300)).ToList();
        using var stream = new MemoryStream();
        var writer = RecordStreams.CreateWriter(stream, RecordFileFormat.Binary, RecordCodecs.Utf8String);
        foreach (var record in records)
        {
            await writer.WriteAsync(record);
        }

        await writer.FlushAsync();

        Assert.Equal(records, await ReadAllAsync(new ChunkyStream(new MemoryStream(stream.ToArray()), 97), RecordFileFormat.Binary, RecordCodecs.Utf8String));
    }

    [Fact]
    public async Task BinaryReader_StreamEndsMidRecord_ThrowsNamingIt()
    {
        using var stream = new MemoryStream();
        var writer = RecordStreams.CreateWriter(stream, RecordFileFormat.Binary, RecordCodecs.Utf8String);
        await writer.WriteAsync("hello");
        await writer.FlushAsync();

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync(new MemoryStream(stream.ToArray()[..^1]), RecordFileFormat.Binary, RecordCodecs.Utf8String));

        Assert.Contains("input/x", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TextReader_CrLfBomAndNoFinalLineBreak_ReadsEveryLine()
    {
        var bytes = Encoding.UTF8.GetBytes("\uFEFFone\r\ntwo\n\nstraße");

        Assert.Equal(["one", "two", "", "straße"], await ReadAllAsync(new ChunkyStream(new MemoryStream(bytes), 3), RecordFileFormat.Text, text: new Words()));
    }

    [Fact]
    public async Task TextWriter_Records_OneLineEach()
    {
        using var stream = new MemoryStream();
        var writer = RecordStreams.CreateWriter(stream, RecordFileFormat.Text, text: new Words());
        await writer.WriteAsync("a");
        await writer.WriteAsync("日本");
        await writer.FlushAsync();

        Assert.Equal("a\n日本\n", Encoding.UTF8.GetString(stream.ToArray()));
    }

    [Fact]
    public void OpenReader_BinaryWithoutACodec_Throws()
    {
        Assert.Throws<ArgumentException>(() => RecordStreams.OpenReader<string>(new MemoryStream(), RecordFileFormat.Binary, "x"));
    }
}
