namespace Dataflow.Hosting;

/// <summary>The exit codes of every Dataflow program.</summary>
public static class ExitCodes
{
    /// <summary>The run succeeded (and, where the program checks its output, the output was verified).</summary>
    public const int Success = 0;

    /// <summary>The run failed, or its output did not verify.</summary>
    public const int Failure = 1;

    /// <summary>The command line or the job definition was wrong; nothing ran.</summary>
    public const int Usage = 2;

    /// <summary>
    /// The run succeeded without some of its inputs (<c>--max-failed-inputs</c>): tasks that tolerate it failed for
    /// good within the budget, the output holds what the other inputs give, and the summary (<c>partial: true</c>,
    /// <c>failedInputs</c>) and the report list the inputs left out.
    /// </summary>
    public const int PartialSuccess = 3;

    /// <summary>The run was cancelled (Ctrl+C or SIGTERM): 128 + SIGINT, as shells report it.</summary>
    public const int Cancelled = 130;
}
