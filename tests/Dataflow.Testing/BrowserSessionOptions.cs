namespace Dataflow.Testing;

/// <summary>How <see cref="BrowserSession.Start"/> starts a browser; every default suits the tests.</summary>
public sealed class BrowserSessionOptions
{
    /// <summary>The window's width in CSS pixels (and a screenshot's in pixels). Default 1280.</summary>
    public int Width { get; init; } = 1280;

    /// <summary>The window's height in CSS pixels (and a screenshot's in pixels). Default 800.</summary>
    public int Height { get; init; } = 800;

    /// <summary>
    /// The Chromium executable. Default: <see cref="HeadlessChromium.Executable"/> (<c>DATAFLOW_TEST_CHROMIUM</c>, else
    /// <c>/usr/bin/chromium</c>).
    /// </summary>
    public string ChromiumExecutable { get; init; } = HeadlessChromium.Executable;

    /// <summary>
    /// The chromedriver executable, of the same major version as the browser. Default:
    /// <see cref="BrowserSession.DriverExecutable"/> (<c>DATAFLOW_TEST_CHROMEDRIVER</c>, else <c>/usr/bin/chromedriver</c>).
    /// </summary>
    public string ChromeDriverExecutable { get; init; } = BrowserSession.DriverExecutable;

    /// <summary>
    /// How long one WebDriver command (a navigation, a click, a script) may take before it fails: a hung browser
    /// fails the test instead of hanging it. Default 30 s.
    /// </summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long disposing waits for the browser and chromedriver to quit before it kills them. Default 10 s.</summary>
    public TimeSpan QuitTimeout { get; init; } = TimeSpan.FromSeconds(10);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Height);
        ArgumentException.ThrowIfNullOrEmpty(ChromiumExecutable);
        ArgumentException.ThrowIfNullOrEmpty(ChromeDriverExecutable);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(CommandTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(QuitTimeout, TimeSpan.Zero);
    }
}
