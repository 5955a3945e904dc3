namespace Dataflow.Worker;

/// <summary>
/// When a task that runs much longer than its stage's others gets one backup attempt (a straggler's speculative
/// attempt): once at least <see cref="Quantile"/> of a stage's tasks have committed, a task whose attempt has run longer
/// than <see cref="Multiplier"/> times the median duration of the stage's committed attempts, and longer than
/// <see cref="Floor"/>, gets one backup attempt, if a slot or worker process is free that no ready task waits for. The
/// attempt that commits first is the task's; the other is cancelled and its outputs deleted. Set it with
/// <see cref="JobRunnerOptions.Speculation"/>.
/// </summary>
public sealed record SpeculationOptions
{
    /// <summary>The settings of a runner that never starts backup attempts.</summary>
    public static SpeculationOptions Off { get; } = new() { Enabled = false };

    /// <summary>
    /// Whether backup attempts are started. Default <see langword="true"/>: a commit is atomic, so a backup can only
    /// replace a straggler by an attempt that committed completely; turn it off for operators with effects outside the
    /// store (two attempts of a task may run at once).
    /// </summary>
    public bool Enabled { get; init; } = true;

    /// <summary>How many times the stage's median committed duration an attempt must have run to get a backup. Default 2.</summary>
    public double Multiplier { get; init; } = 2;

    /// <summary>How long an attempt must have run at least to get a backup, whatever its stage's median. Default 1 s.</summary>
    public TimeSpan Floor { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The share of a stage's tasks (0 to 1) that must have committed before any of its tasks gets a backup. Default 0.75.</summary>
    public double Quantile { get; init; } = 0.75;

    /// <summary>How often running attempts are looked at (tests make it shorter).</summary>
    internal TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Throws when a setting is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range; the message names it.</exception>
    public void Validate()
    {
        if (double.IsNaN(Multiplier) || Multiplier < 0 || Multiplier > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(Multiplier), Multiplier, "the speculation multiplier must be between 0 and 1000 (times the stage's median duration)");
        }

        if (Floor < TimeSpan.Zero || Floor > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(Floor), Floor, "the speculation floor must be between 0 and 1 day");
        }

        if (double.IsNaN(Quantile) || Quantile < 0 || Quantile > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Quantile), Quantile, "the speculation quantile must be between 0 and 1 (the share of a stage's tasks committed)");
        }

        if (Interval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Interval), Interval, "the speculation interval must be positive");
        }
    }
}
