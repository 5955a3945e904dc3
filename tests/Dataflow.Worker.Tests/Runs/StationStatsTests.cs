using System.Globalization;
using System.Text;

namespace Dataflow.Worker.Tests.Runs;

/// <summary>
/// A map-reduce of a value type of its own: per-station minimum, maximum and mean of temperature readings
/// (<c>station;temperature</c> lines), the value a <c>(min, max, sum, count)</c> struct combined map-side, its codec
/// composed from the public parts in two lines — checked against the same figures computed with LINQ.
/// </summary>
/// <remarks>In the map-reduce runs' collection: they point the temporary folder, where map tasks spill, elsewhere.</remarks>
[Collection(MapReduceRunCollection.Name)]
public sealed class StationStatsTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly IObjectStore _store;

    public StationStatsTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>The value: what a station's readings come to so far.</summary>
    private readonly record struct Stats(double Min, double Max, double Sum, long Count);

    /// <summary>The value's codec, from the built-in parts: three doubles and a varint, 25 bytes for a small count.</summary>
    private static readonly RecordCodec<Stats> s_statsCodec =
        RecordCodecs.Tuple(RecordCodecs.Binary64, RecordCodecs.Binary64, RecordCodecs.Binary64, RecordCodecs.Varint64)
            .Convert(p => new Stats(p.Item1, p.Item2, p.Item3, p.Item4), s => (s.Min, s.Max, s.Sum, s.Count));

    private sealed class ReadingMapper : Mapper<string, Stats>
    {
        public override void Map(ReadOnlySpan<char> record, MapOutput<string, Stats> output)
        {
            var semicolon = record.IndexOf(';');
            var temperature = double.Parse(record[(semicolon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
            output.EmitText(record[..semicolon], new Stats(temperature, temperature, temperature, 1));
        }
    }

    private sealed class StatsCombiner : ICombiner<Stats>
    {
        public Stats Combine(Stats first, Stats second) =>
            new(Math.Min(first.Min, second.Min), Math.Max(first.Max, second.Max), first.Sum + second.Sum, first.Count + second.Count);
    }

    private sealed class StatsReducer : Reducer<string, Stats, (double Min, double Max, double Mean)>
    {
        private static readonly StatsCombiner s_combiner = new();

        public override (double Min, double Max, double Mean) Reduce(string key, IReadOnlyList<Stats> values)
        {
            var all = values.Aggregate(s_combiner.Combine);
            return (all.Min, all.Max, all.Sum / all.Count);
        }
    }

    [Fact]
    public async Task RunAsync_StructValueWithAComposedCodecAndACombiner_GivesTheFiguresLinqGives()
    {
        var readings = await WriteReadingsAsync(objects: 6, linesEach: 4000);
        var job = Job.Named("station-stats").FromPrefix("input/").MapReduce(new MapReduceSpec<string, Stats, (double Min, double Max, double Mean)>
        {
            Mapper = new ReadingMapper(),
            Combiner = new StatsCombiner(),
            Reducer = new StatsReducer(),
            ValueCodec = s_statsCodec,
            Reducers = 3,
            SplitSize = 16 * 1024, // several map tasks per object: the combiner's partial figures are merged again
            MapMemory = 64 * 1024,
        }).WriteTo("output/stats/");

        var result = await new JobRunner(_store, new JobRunnerOptions { Concurrency = 2, RetryDelay = TimeSpan.Zero }).RunAsync(job);

        var expected = readings
            .GroupBy(r => r.Station, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (Min: g.Min(r => r.Temperature), Max: g.Max(r => r.Temperature), Mean: g.Average(r => r.Temperature)), StringComparer.Ordinal);
        var actual = new Dictionary<string, (double Min, double Max, double Mean)>(StringComparer.Ordinal);
        foreach (var part in await _store.ListAllAsync("output/stats/"))
        {
            var text = Encoding.UTF8.GetString(await _store.ReadAllBytesAsync(part.Key));
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                // The default format of a tuple result: station<TAB>min<TAB>max<TAB>mean.
                var fields = line.Split('\t');
                Assert.Equal(4, fields.Length);
                actual.Add(fields[0], (Number(fields[1]), Number(fields[2]), Number(fields[3])));
            }
        }

        Assert.True(result.Plan.Stages[0].Tasks.Count > 6, "every object should be cut into several map tasks");
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (station, figures) in expected)
        {
            Assert.Equal(figures.Min, actual[station].Min);
            Assert.Equal(figures.Max, actual[station].Max);
            Assert.Equal(figures.Mean, actual[station].Mean, 1e-9); // sums in another order differ in the last bits
        }
    }

    private static double Number(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>Writes <paramref name="objects"/> objects of readings at 40 stations (one decimal, -30 to 45 degrees); returns them.</summary>
    private async Task<List<(string Station, double Temperature)>> WriteReadingsAsync(int objects, int linesEach)
    {
        var random = new Random(1504);
        var stations = Enumerable.Range(0, 40).Select(i => i % 5 == 0 ? $"Zürich-{i}" : $"station-{i}").ToArray();
        var readings = new List<(string, double)>();
        for (var o = 0; o < objects; o++)
        {
            var text = new StringBuilder();
            for (var i = 0; i < linesEach; i++)
            {
                var station = stations[random.Next(stations.Length)];
                var temperature = Math.Round((random.NextDouble() * 75) - 30, 1);
                readings.Add((station, temperature));
                text.Append(station).Append(';').Append(temperature.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }

            await _store.PutAsync(string.Create(CultureInfo.InvariantCulture, $"input/readings-{o:D2}.txt"), Encoding.UTF8.GetBytes(text.ToString()));
        }

        return readings;
    }
}
