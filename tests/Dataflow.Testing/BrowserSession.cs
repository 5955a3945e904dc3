using System.Diagnostics;
using System.Globalization;
using System.Text;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace Dataflow.Testing;

/// <summary>
/// A real browser for tests that watch a live page: Debian's Chromium driven through Debian's chromedriver with
/// Selenium WebDriver (both installed by <c>scripts/chromium.sh install</c>), headless with
/// <see cref="HeadlessChromium"/>'s flags, a fresh profile folder deleted afterwards, and its console log kept.
/// Dispose it: the browser and chromedriver are ended even when a test failed, and killed when they do not quit.
/// </summary>
/// <remarks>
/// <para>
/// Selenium Manager (which would download drivers and browsers) is never run: the driver and the browser are given by
/// path, a missing one is an <see cref="InvalidOperationException"/> saying how to install it (tests fail, they are
/// not skipped), and <c>SE_MANAGER_PATH</c> is pointed at a file that does not exist, so that any call Selenium would
/// still make to it fails at once instead of reaching for the network.
/// </para>
/// <para>Not thread-safe: one test drives one session.</para>
/// </remarks>
public sealed class BrowserSession : IDisposable
{
    /// <summary>Where Debian's package <c>chromium-driver</c> puts chromedriver.</summary>
    public const string DefaultDriverExecutable = "/usr/bin/chromedriver";

    /// <summary>The environment variable that may name another chromedriver executable.</summary>
    public const string DriverExecutableVariable = "DATAFLOW_TEST_CHROMEDRIVER";

    private const int MaxTextInErrors = 2_000;
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly Lock s_liveGate = new();
    private static readonly HashSet<BrowserSession> s_live = [];

    private readonly DirectoryInfo _profile;
    private readonly List<LogEntry> _console = [];
    private readonly DriverProcessTree? _processes;
    private readonly TimeSpan _quitTimeout;
    private int _disposed;

    static BrowserSession()
    {
        Environment.SetEnvironmentVariable("SE_MANAGER_PATH", "/nonexistent/selenium-manager-is-disabled-by-dataflow-tests");
        // A test host that ends without disposing a session (a crash, a cancelled run) must not leave browsers behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            BrowserSession[] left;
            lock (s_liveGate)
            {
                left = [.. s_live];
            }

            foreach (var session in left)
            {
                session.Kill();
            }
        };
    }

    private BrowserSession(ChromeDriver driver, DirectoryInfo profile, DriverProcessTree? processes, TimeSpan quitTimeout)
    {
        Driver = driver;
        _profile = profile;
        _processes = processes;
        _quitTimeout = quitTimeout;
    }

    /// <summary>The chromedriver executable sessions use by default: <see cref="DriverExecutableVariable"/> when set, else <see cref="DefaultDriverExecutable"/>.</summary>
    public static string DriverExecutable =>
        Environment.GetEnvironmentVariable(DriverExecutableVariable) is { Length: > 0 } path ? path : DefaultDriverExecutable;

    /// <summary>The WebDriver, for anything the session's own methods do not offer.</summary>
    public ChromeDriver Driver { get; }

    /// <summary>The process id of chromedriver, whose child the browser is (0 if it could not be told).</summary>
    public int DriverProcessId => _processes?.RootId ?? 0;

    /// <summary>The browser's profile folder (its <c>--user-data-dir</c>), deleted by <see cref="Dispose"/>.</summary>
    public string ProfileFolder => _profile.FullName;

    /// <summary>Starts chromedriver and a headless Chromium with an empty page.</summary>
    /// <param name="options">The window's size, the executables and the command timeout; defaults when null.</param>
    /// <exception cref="InvalidOperationException">Chromium or chromedriver is missing, or the session did not start.</exception>
    public static BrowserSession Start(BrowserSessionOptions? options = null)
    {
        options ??= new BrowserSessionOptions();
        options.Validate();
        var chromium = options.ChromiumExecutable;
        var chromedriver = options.ChromeDriverExecutable;
        if (!File.Exists(chromium))
        {
            throw new InvalidOperationException(
                $"a browser session needs Chromium, but {chromium} is missing: run scripts/chromium.sh install (as root)");
        }

        if (!File.Exists(chromedriver))
        {
            throw new InvalidOperationException(
                $"a browser session needs chromedriver (Debian's package chromium-driver), but {chromedriver} is missing: run scripts/chromium.sh install (as root)");
        }

        var driverPath = Path.GetFullPath(chromedriver);
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(driverPath)!, Path.GetFileName(driverPath));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var chrome = new ChromeOptions { BinaryLocation = chromium };
        chrome.AddArguments(HeadlessChromium.Flags);
        var profile = HeadlessChromium.CreateProfile();
        chrome.AddArgument($"--user-data-dir={profile.FullName}");
        chrome.AddArgument(string.Create(CultureInfo.InvariantCulture, $"--window-size={options.Width},{options.Height}"));
        chrome.SetLoggingPreference(LogType.Browser, LogLevel.All);
        ChromeDriver driver;
        try
        {
            driver = new ChromeDriver(service, chrome, options.CommandTimeout);
        }
        catch (WebDriverException e)
        {
            DriverProcessTree.OfChild(service.ProcessId)?.Kill();
            try
            {
                service.Dispose();
            }
            catch (InvalidOperationException)
            {
                // the service never started: nothing to stop
            }

            HeadlessChromium.DeleteProfile(profile);
            throw new InvalidOperationException(
                $"could not start a headless Chromium session ({chromium} driven by {chromedriver}; scripts/chromium.sh driver-path checks that their versions match): {e.Message}",
                e);
        }

        // The browser's processes are remembered now, while they are chromedriver's children: should chromedriver die
        // first, they would be orphans that no process tree leads to any more.
        var session = new BrowserSession(driver, profile, DriverProcessTree.OfChild(service.ProcessId), options.QuitTimeout);
        lock (s_liveGate)
        {
            s_live.Add(session);
        }

        try
        {
            driver.Manage().Timeouts().PageLoad = options.CommandTimeout;
            driver.Manage().Timeouts().AsynchronousJavaScript = options.CommandTimeout;
            session.SizeViewport(options.Width, options.Height);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Opens <paramref name="url"/> and returns when its page has loaded (its <c>load</c> event).</summary>
    public void Open(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        Driver.Navigate().GoToUrl(url);
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, asking it every 50 ms; a condition that throws
    /// <see cref="NotFoundException"/> or <see cref="StaleElementReferenceException"/> (an element not there yet, or
    /// just replaced) does not hold yet.
    /// </summary>
    /// <param name="condition">What should become true.</param>
    /// <param name="timeout">How long to wait: a guard against hangs, not a measure of speed.</param>
    /// <param name="what">What is awaited, for the error (e.g. "7 rows in the table").</param>
    /// <exception cref="TimeoutException">
    /// The condition did not hold in time; the message has <paramref name="what"/>, the page's URL, its visible text
    /// (the first 2,000 characters) and the browser's console log.
    /// </exception>
    public void WaitUntil(Func<IWebDriver, bool> condition, TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentException.ThrowIfNullOrEmpty(what);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Exception? notYet = null;
            try
            {
                if (condition(Driver))
                {
                    return;
                }
            }
            catch (Exception e) when (e is NotFoundException or StaleElementReferenceException)
            {
                notYet = e;
            }

            if (clock.Elapsed >= timeout)
            {
                throw new TimeoutException(DescribeTimeout(what, timeout, notYet));
            }

            Thread.Sleep(s_pollInterval);
        }
    }

    /// <summary>The visible text of the first element that matches <paramref name="cssSelector"/>.</summary>
    /// <exception cref="NoSuchElementException">No element matches.</exception>
    public string Text(string cssSelector)
    {
        ArgumentException.ThrowIfNullOrEmpty(cssSelector);
        return Driver.FindElement(By.CssSelector(cssSelector)).Text;
    }

    /// <summary>The visible texts of every element that matches <paramref name="cssSelector"/>, in document order (none: empty).</summary>
    public IReadOnlyList<string> Texts(string cssSelector)
    {
        ArgumentException.ThrowIfNullOrEmpty(cssSelector);
        return [.. Driver.FindElements(By.CssSelector(cssSelector)).Select(e => e.Text)];
    }

    /// <summary>Clicks the first element that matches <paramref name="cssSelector"/>, as a user would (it must be visible).</summary>
    /// <exception cref="NoSuchElementException">No element matches.</exception>
    public void Click(string cssSelector)
    {
        ArgumentException.ThrowIfNullOrEmpty(cssSelector);
        Driver.FindElement(By.CssSelector(cssSelector)).Click();
    }

    /// <summary>
    /// Runs <paramref name="script"/> in the page as a function body (so it says <c>return</c> to give a value, and reads
    /// <paramref name="arguments"/> as <c>arguments[i]</c>) and returns its value as <typeparamref name="T"/>. JavaScript
    /// numbers come back as <see cref="long"/> or <see cref="double"/> and are converted to a numeric
    /// <typeparamref name="T"/>; <c>null</c> and <c>undefined</c> as null.
    /// </summary>
    /// <exception cref="InvalidCastException">The value is not a <typeparamref name="T"/>.</exception>
    public T Script<T>(string script, params object?[] arguments)
    {
        ArgumentException.ThrowIfNullOrEmpty(script);
        var value = Driver.ExecuteScript(script, arguments);
        var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return value switch
        {
            T typed => typed,
            null when default(T) is null => default!,
            IConvertible convertible when target.IsPrimitive || target == typeof(decimal) =>
                (T)Convert.ChangeType(convertible, target, CultureInfo.InvariantCulture),
            _ => throw new InvalidCastException(
                $"the script gave {value?.GetType().Name ?? "null"} {value}, not {typeof(T).Name}: {script}"),
        };
    }

    /// <summary>Writes the window as a PNG of the session's width × height to <paramref name="pngPath"/> (replaced).</summary>
    public void Screenshot(string pngPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(pngPath);
        var target = Path.GetFullPath(pngPath);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        Driver.GetScreenshot().SaveAsFile(target);
    }

    /// <summary>
    /// Every entry of the browser's console since the session started, oldest first: the page's <c>console.*</c>
    /// calls, uncaught errors and failed loads (a missing <c>/favicon.ico</c> counts: serve one, or 204).
    /// </summary>
    public IReadOnlyList<LogEntry> ConsoleLog()
    {
        // chromedriver hands out each entry once: they are collected here so that every call sees them all.
        _console.AddRange(Driver.Manage().Logs.GetLog(LogType.Browser));
        return [.. _console];
    }

    /// <summary>The messages of the console's errors since the session started: uncaught exceptions, <c>console.error</c>, failed loads.</summary>
    public IReadOnlyList<string> ConsoleErrors() =>
        [.. ConsoleLog().Where(e => e.Level == LogLevel.Severe).Select(e => e.Message)];

    /// <summary>The page's visible text (<c>body</c>'s), for assertions and error messages.</summary>
    public string VisibleText() => Driver.FindElement(By.TagName("body")).Text;

    /// <summary>
    /// Quits the browser and chromedriver, waiting at most <see cref="BrowserSessionOptions.QuitTimeout"/>, then kills whatever of their
    /// processes is left, and deletes the profile folder.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            _processes?.Refresh();
            var quit = Task.Run(() =>
            {
                try
                {
                    Driver.Quit();
                }
                catch (WebDriverException)
                {
                    // A browser that crashed cannot quit; what is left of it is killed below.
                }
            });
            quit.Wait(_quitTimeout);
        }
        finally
        {
            Kill();
            HeadlessChromium.DeleteProfile(_profile);
        }
    }

    private void Kill()
    {
        lock (s_liveGate)
        {
            s_live.Remove(this);
        }

        _processes?.Kill();
    }

    // --window-size sizes the window, and a headless window still keeps room for a browser's bars: the page would see
    // less than asked for. The window grows by that difference, so that the page (and a screenshot) is width × height.
    private void SizeViewport(int width, int height)
    {
        var inner = Driver.ExecuteScript("return [window.innerWidth, window.innerHeight]") as IReadOnlyList<object>;
        var (innerWidth, innerHeight) = (Convert.ToInt32(inner![0], CultureInfo.InvariantCulture), Convert.ToInt32(inner[1], CultureInfo.InvariantCulture));
        if ((innerWidth, innerHeight) == (width, height))
        {
            return;
        }

        var window = Driver.Manage().Window;
        window.Size = new System.Drawing.Size(window.Size.Width + width - innerWidth, window.Size.Height + height - innerHeight);
    }

    private string DescribeTimeout(string what, TimeSpan timeout, Exception? notYet)
    {
        var message = new StringBuilder();
        message.Append(CultureInfo.InvariantCulture, $"waited {timeout.TotalSeconds:0.###} s for {what}, in vain");
        message.Append(CultureInfo.InvariantCulture, $"\npage: {Read(() => Driver.Url)}");
        if (notYet is not null)
        {
            message.Append(CultureInfo.InvariantCulture, $"\nthe condition's last answer: {notYet.Message.Split('\n')[0]}");
        }

        var text = Read(VisibleText);
        message.Append(text.Length > MaxTextInErrors
            ? string.Create(CultureInfo.InvariantCulture, $"\nvisible text (first {MaxTextInErrors:N0} of {text.Length:N0} characters):\n{text[..MaxTextInErrors]}")
            : $"\nvisible text:\n{text}");
        var console = Read(() => string.Join('\n', ConsoleLog().Select(e => $"  {e.Level} {e.Message}")));
        message.Append(console.Length == 0 ? "\nbrowser console: empty" : $"\nbrowser console:\n{console}");
        return message.ToString();
    }

    private static string Read(Func<string> read)
    {
        try
        {
            return read();
        }
        catch (WebDriverException e)
        {
            return $"(unreadable: {e.Message.Split('\n')[0]})";
        }
    }
}
