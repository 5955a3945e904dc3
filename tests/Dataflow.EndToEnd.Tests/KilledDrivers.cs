using System.Diagnostics;

namespace Dataflow.EndToEnd.Tests;

/// <summary>Drivers killed mid-run, as the tests that resume runs kill them.</summary>
internal static class KilledDrivers
{
    /// <summary>
    /// Starts <paramref name="program"/> and SIGKILLs it (with its worker processes) once <paramref name="condition"/>
    /// holds; false when it ended first (successfully: a failure fails the test).
    /// </summary>
    public static async Task<bool> TryKillWhenAsync(string program, string[] args, Func<bool> condition)
    {
        using var driver = Process.Start(ProgramRunner.StartInfo(program, args))!;
        var stdout = driver.StandardOutput.ReadToEndAsync();
        var stderr = driver.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow + ProgramRunner.Patience;
        while (!condition() && !driver.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(1);
        }

        var ended = driver.HasExited;
        driver.Kill(entireProcessTree: true);
        await driver.WaitForExitAsync();
        await Task.WhenAll(stdout, stderr);
        Assert.True(!ended || driver.ExitCode == 0, $"exit code {driver.ExitCode}:{Environment.NewLine}{await stderr}");
        return !ended;
    }
}
