using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Dataflow.Benchmarks.S3;

/// <summary>
/// BenchmarkDotNet settings for operations that move hundreds of MiB: one launch, one warm-up and five measured
/// iterations of one invocation each (no pilot, no overhead runs), unless <c>--job</c> says otherwise; one baseline
/// per category, and a MiB/s column.
/// </summary>
internal abstract class S3BenchConfig : ManualConfig
{
    protected S3BenchConfig(Func<BenchmarkCase, double> mebibytes)
    {
        AddJob(BenchmarkDotNet.Jobs.Job.Default
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(5)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithId("S3")
            .AsDefault()); // replaced by a job given on the command line (--job short), instead of running beside it
        AddColumn(CategoriesColumn.Default, new ThroughputColumn(mebibytes));
        AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory);
    }

    /// <summary>MiB per operation from the <c>SizeMiB</c> parameter.</summary>
    public sealed class Transfer() : S3BenchConfig(c => Convert.ToDouble(c.Parameters["SizeMiB"], CultureInfo.InvariantCulture));

    /// <summary>MiB per operation (the composed object) from the <c>Pieces</c> and <c>PieceMiB</c> parameters.</summary>
    public sealed class Compose() : S3BenchConfig(c =>
        Convert.ToDouble(c.Parameters["Pieces"], CultureInfo.InvariantCulture) * Convert.ToDouble(c.Parameters["PieceMiB"], CultureInfo.InvariantCulture));

    /// <summary>Mebibytes per second from the mean time of an operation.</summary>
    private sealed class ThroughputColumn(Func<BenchmarkCase, double> mebibytes) : IColumn
    {
        public string Id => nameof(ThroughputColumn);

        public string ColumnName => "MiB/s";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Mebibytes per second: the MiB of one operation over its mean time";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
            summary[benchmarkCase]?.ResultStatistics is { Mean: > 0 } statistics
                ? (mebibytes(benchmarkCase) / (statistics.Mean / 1e9)).ToString("0.0", CultureInfo.InvariantCulture)
                : "NA";

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;
    }
}
