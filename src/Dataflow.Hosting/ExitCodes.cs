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

    /// <summary>The run was cancelled (Ctrl+C or SIGTERM): 128 + SIGINT, as shells report it.</summary>
    public const int Cancelled = 130;
}
