using System.Diagnostics;

namespace Dataflow.Testing;

/// <summary>
/// Opens pages in a real browser for tests: Debian's Chromium (<c>/usr/bin/chromium</c>, installed by
/// <c>scripts/chromium.sh install</c>), headless, without network, sandbox or GPU, with a fresh profile folder per
/// call that is deleted afterwards. A browser that hangs is killed (with its child processes) after
/// <see cref="Timeout"/>.
/// </summary>
/// <remarks>
/// The browser is <see cref="ExecutableVariable"/> when that is set, else <see cref="DefaultExecutable"/>. When it is
/// missing the calls throw <see cref="InvalidOperationException"/> saying how to install it: tests fail, they are not skipped.
/// </remarks>
public static class HeadlessChromium
{
    /// <summary>Where Debian's package puts the browser.</summary>
    public const string DefaultExecutable = "/usr/bin/chromium";

    /// <summary>The environment variable that may name another Chromium executable.</summary>
    public const string ExecutableVariable = "DATAFLOW_TEST_CHROMIUM";

    /// <summary>How long one call may take before the browser is killed (60 s).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    // Flags that work on a closed network, as root, in a container: no sandbox, GPU, QUIC, first-run UI, sync,
    // component updates or background fetches. The colour profile and scale are pinned so screenshots are exact.
    private static readonly string[] s_flags =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions", "--hide-scrollbars",
        "--force-color-profile=srgb", "--force-device-scale-factor=1",
    ];

    /// <summary>The flags every headless browser of the tests starts with (also <see cref="BrowserSession"/>'s).</summary>
    internal static IReadOnlyList<string> Flags => s_flags;

    /// <summary>The Chromium executable the calls run.</summary>
    public static string Executable => Environment.GetEnvironmentVariable(ExecutableVariable) is { Length: > 0 } path ? path : DefaultExecutable;

    /// <summary>The DOM of the page at <paramref name="htmlPath"/> as HTML, after its scripts ran (<c>--dump-dom</c>).</summary>
    /// <exception cref="InvalidOperationException">Chromium is missing or failed.</exception>
    /// <exception cref="TimeoutException">Chromium took longer than <see cref="Timeout"/>.</exception>
    public static Task<string> DumpDomAsync(string htmlPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(htmlPath);
        return RunAsync(htmlPath, ["--dump-dom"], cancellationToken);
    }

    /// <summary>
    /// Writes a PNG screenshot of the page at <paramref name="htmlPath"/> in a window of
    /// <paramref name="width"/> × <paramref name="height"/> CSS pixels (the PNG's size) to <paramref name="pngPath"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Chromium is missing, failed or wrote no screenshot.</exception>
    /// <exception cref="TimeoutException">Chromium took longer than <see cref="Timeout"/>.</exception>
    public static async Task ScreenshotAsync(string htmlPath, string pngPath, int width, int height, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(htmlPath);
        ArgumentException.ThrowIfNullOrEmpty(pngPath);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        var target = Path.GetFullPath(pngPath);
        File.Delete(target);
        await RunAsync(htmlPath, [$"--screenshot={target}", $"--window-size={width},{height}"], cancellationToken);
        if (!File.Exists(target))
        {
            throw new InvalidOperationException($"Chromium exited without writing the screenshot {target} of {htmlPath}");
        }
    }

    private static async Task<string> RunAsync(string htmlPath, string[] arguments, CancellationToken cancellationToken)
    {
        var executable = Executable;
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"headless Chromium is needed to open {htmlPath}, but {executable} is missing: run scripts/chromium.sh install (as root)");
        }

        var page = Path.GetFullPath(htmlPath);
        if (!File.Exists(page))
        {
            throw new FileNotFoundException($"no page to open at {page}", page);
        }

        var profile = CreateProfile();
        try
        {
            var start = new ProcessStartInfo(executable)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var flag in s_flags)
            {
                start.ArgumentList.Add(flag);
            }

            start.ArgumentList.Add($"--user-data-dir={profile.FullName}");
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            start.ArgumentList.Add(new Uri(page).AbsoluteUri);
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {executable}");
            // Both pipes are drained while the browser runs: its stderr is chatty (D-Bus is absent) and would fill up.
            var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(Timeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
                cancellationToken.ThrowIfCancellationRequested();
                throw new TimeoutException($"Chromium did not finish with {page} within {Timeout.TotalSeconds:0} s; killed it");
            }

            var dom = await output;
            var log = await errors;
            if (process.ExitCode != 0)
            {
                var tail = string.Join('\n', log.Split('\n').Where(l => !l.Contains("dbus", StringComparison.OrdinalIgnoreCase)).TakeLast(15));
                throw new InvalidOperationException($"Chromium exited with code {process.ExitCode} on {page}:\n{tail}");
            }

            return dom;
        }
        finally
        {
            DeleteProfile(profile);
        }
    }

    /// <summary>A fresh, empty browser profile folder under the system's temporary folder.</summary>
    internal static DirectoryInfo CreateProfile() => Directory.CreateTempSubdirectory("dataflow-chromium-");

    /// <summary>Deletes a profile folder of <see cref="CreateProfile"/> once its browser has ended.</summary>
    internal static void DeleteProfile(DirectoryInfo folder)
    {
        // The browser's helper processes may still be closing files in the profile for a moment after it exits.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                folder.Delete(recursive: true);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                Thread.Sleep(100);
            }
            catch (IOException)
            {
                return; // a leftover temporary folder is not worth failing a test for
            }
        }
    }
}
