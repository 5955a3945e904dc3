using System.Globalization;
using Dataflow.Core;

namespace Dataflow.OwnJob;

/// <summary>
/// An operator of the program's own: sums the integers in its inputs, one a line (blank lines count nothing), and
/// writes the sum as one line. Associative, so a reduce tree of it sums a whole prefix.
/// </summary>
public sealed class SumOperator : IObjectOperator
{
    /// <summary>
    /// For the tests that kill a run midway: each task waits this many milliseconds first, so that a run lasts long
    /// enough to be killed with tasks committed and tasks left.
    /// </summary>
    public const string DelayVariable = "OWN_JOB_TASK_DELAY_MS";

    /// <inheritdoc/>
    public string Name => "sum";

    /// <inheritdoc/>
    public async ValueTask ExecuteAsync(ObjectTaskContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (int.TryParse(Environment.GetEnvironmentVariable(DelayVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var delay))
        {
            await Task.Delay(delay, cancellationToken);
        }

        long sum = 0;
        foreach (var input in context.Inputs)
        {
            using var reader = new StreamReader(await input.OpenReadAsync(cancellationToken));
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length > 0)
                {
                    sum += long.Parse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                }
            }
        }

        var output = await context.CreateOutputAsync(context.OutputNames[0], cancellationToken);
        await using (output)
        {
            using var writer = new StreamWriter(output, leaveOpen: true);
            await writer.WriteLineAsync(sum.ToString(CultureInfo.InvariantCulture).AsMemory(), cancellationToken);
        }
    }
}
