using BenchmarkDotNet.Attributes;

namespace Dataflow.Benchmarks;

/// <summary>
/// What counting a store request costs (issue 18's resource accounting): the folder store's <c>HeadAsync</c> of an
/// existing object — the cheapest request a store makes, one <c>stat</c> — with no current counter (the baseline: the
/// count is one <see cref="AsyncLocal{T}"/> read that finds none) and inside a <see cref="StoreRequests.Begin"/> scope
/// (the read and an interlocked increment); and the bare <see cref="StoreRequests.Count"/> both ways.
/// </summary>
[MemoryDiagnoser]
public class StoreRequestCountBenchmarks
{
    private const string Key = "bench/object.bin";
    private const int Counts = 1000;

    private string _folder = null!;
    private IObjectStore _store = null!;
    private readonly StoreRequestCounts _counts = new();

    [GlobalSetup]
    public async Task Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), "dataflow-bench-requests-" + Guid.NewGuid().ToString("N"));
        _store = ObjectStore.OpenFolder(_folder);
        await _store.PutAsync(Key, new byte[100]);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    [Benchmark(Baseline = true)]
    public async Task<ObjectInfo?> HeadUncounted() => await _store.HeadAsync(Key);

    [Benchmark]
    public async Task<ObjectInfo?> HeadCounted()
    {
        using var scope = StoreRequests.Begin(_counts);
        return await _store.HeadAsync(Key);
    }

    [Benchmark(OperationsPerInvoke = Counts)]
    public void CountWithoutCounter()
    {
        for (var i = 0; i < Counts; i++)
        {
            StoreRequests.Count(StoreRequestKind.Get);
        }
    }

    /// <summary>One scope (as an attempt sets once), then <see cref="Counts"/> requests counted in it: the cost per request.</summary>
    [Benchmark(OperationsPerInvoke = Counts)]
    public void CountWithCounter()
    {
        using var scope = StoreRequests.Begin(_counts);
        for (var i = 0; i < Counts; i++)
        {
            StoreRequests.Count(StoreRequestKind.Get);
        }
    }
}
