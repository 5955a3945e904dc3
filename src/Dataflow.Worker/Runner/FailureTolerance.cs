using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Dataflow.Worker;

/// <summary>
/// How many of a run's inputs may fail for good before the run does (<see cref="JobRunnerOptions.MaxFailedInputs"/>,
/// <c>--max-failed-inputs</c>): a number of input objects (<c>5</c>) or a percentage of the run's input objects
/// (<c>2%</c>). Only tasks whose operator tolerates it (<see cref="Core.IObjectOperator.ToleratesFailedTasks"/>: the
/// map tasks of a map-reduce step) fail without failing the run; a run that does ends <c>succeeded</c> with
/// <see cref="RunSummary.Partial"/> set.
/// </summary>
/// <remarks>
/// What is counted is the distinct job inputs (object keys) the failed tasks read: a map task that read three small
/// objects loses all three. A tolerated task that reads no job input counts each of the task outputs it reads. A
/// percentage is of the distinct input objects of the run's plan, rounded down: <c>2%</c> of 64 inputs allows 1.
/// </remarks>
public sealed record FailureTolerance
{
    private FailureTolerance(int count, double percent)
    {
        Count = count;
        Percent = percent;
    }

    /// <summary>No failure tolerated: the first task that fails for good fails the run (the default).</summary>
    public static FailureTolerance None { get; } = new(0, 0);

    /// <summary>The inputs that may fail, as a number; 0 when given as a percentage.</summary>
    public int Count { get; }

    /// <summary>The inputs that may fail, as a percentage of the run's inputs (0 to 100); 0 when given as a number.</summary>
    public double Percent { get; }

    /// <summary>True when some failure is tolerated (a count or percentage above 0).</summary>
    public bool AllowsAny => Count > 0 || Percent > 0;

    /// <summary>At most <paramref name="count"/> failed inputs.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public static FailureTolerance Inputs(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return count == 0 ? None : new FailureTolerance(count, 0);
    }

    /// <summary>At most <paramref name="percent"/> % of the run's inputs failed.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="percent"/> is not between 0 and 100.</exception>
    public static FailureTolerance PercentOfInputs(double percent)
    {
        if (!(percent is >= 0 and <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "a percentage of failed inputs must be between 0 and 100");
        }

        return percent == 0 ? None : new FailureTolerance(0, percent);
    }

    /// <summary>Reads <c>5</c> (inputs) or <c>2%</c> / <c>0.5%</c> (of the run's inputs).</summary>
    /// <param name="text">The value.</param>
    /// <exception cref="ArgumentException">The value is neither a whole number of inputs from 0 nor a percentage from 0 to 100; the message names the option.</exception>
    public static FailureTolerance Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var tolerance)
            ? tolerance
            : throw new ArgumentException($"max failed inputs: '{text}' is neither a number of inputs (e.g. 5) nor a percentage of the inputs from 0% to 100% (e.g. 2%)", nameof(text));
    }

    /// <summary>Reads <c>5</c> (inputs) or <c>2%</c> / <c>0.5%</c> (of the run's inputs); false for anything else.</summary>
    /// <param name="text">The value.</param>
    /// <param name="tolerance">The tolerance read, when it could be.</param>
    public static bool TryParse(string? text, [NotNullWhen(true)] out FailureTolerance? tolerance)
    {
        tolerance = null;
        var value = text?.Trim() ?? string.Empty;
        if (value.EndsWith('%'))
        {
            if (double.TryParse(value[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var percent) && percent is >= 0 and <= 100)
            {
                tolerance = PercentOfInputs(percent);
            }
        }
        else if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            tolerance = Inputs(count);
        }

        return tolerance is not null;
    }

    /// <summary>How many failed inputs a run of <paramref name="inputs"/> input objects may have.</summary>
    public int Budget(int inputs) => Percent > 0 ? (int)Math.Floor(inputs * Percent / 100) : Count;

    /// <summary><c>5</c>, <c>2%</c>, or <c>0</c> for <see cref="None"/>.</summary>
    public override string ToString() =>
        Percent > 0 ? Percent.ToString(CultureInfo.InvariantCulture) + "%" : Count.ToString(CultureInfo.InvariantCulture);
}
