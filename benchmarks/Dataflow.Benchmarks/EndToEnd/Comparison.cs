namespace Dataflow.Benchmarks.EndToEnd;

/// <summary>
/// One row of an <c>e2e</c> table: a Dataflow case against the baseline measured in the same run, both as median
/// seconds over the repetitions.
/// </summary>
/// <param name="Case">What Dataflow did.</param>
/// <param name="Seconds">The median wall time of the Dataflow case.</param>
/// <param name="Baseline">What the baseline did.</param>
/// <param name="BaselineSeconds">The median wall time of the baseline.</param>
/// <param name="PairedSpeedUp">
/// The median over the repetitions of baseline time / Dataflow time within each repetition (the two ran back to back,
/// so each such ratio shares its moment's load).
/// </param>
/// <param name="Note">Anything else worth a column: throughput, memory.</param>
internal sealed record Comparison(string Case, double Seconds, string Baseline, double BaselineSeconds, double PairedSpeedUp, string Note)
{
    /// <summary>Baseline median / Dataflow median: above 1, Dataflow is faster.</summary>
    public double SpeedUp => BaselineSeconds / Seconds;

    /// <summary>A comparison from the two cases' times, repetition by repetition (the lists pair up by index).</summary>
    public static Comparison Of(string name, IReadOnlyList<double> seconds, string baseline, IReadOnlyList<double> baselineSeconds, string note) =>
        new(name, EndToEndRunner.Median(seconds), baseline, EndToEndRunner.Median(baselineSeconds),
            EndToEndRunner.Median(seconds.Zip(baselineSeconds, (d, b) => b / d)), note);
}
