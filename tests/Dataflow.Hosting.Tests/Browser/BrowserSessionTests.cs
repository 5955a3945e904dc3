using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace Dataflow.Hosting.Tests.Browser;

/// <summary>
/// The browser harness of the UI tests against a small live page on loopback: a JavaScript module that polls a JSON
/// endpoint and grows a list, a button that POSTs, a page that throws.
/// </summary>
public sealed class BrowserSessionTests : IAsyncLifetime, IDisposable
{
    // Only a guard against hangs: the pages answer in milliseconds.
    private static readonly TimeSpan s_guard = TimeSpan.FromSeconds(20);

    private readonly TempFolder _folder = new();
    private PollingPageServer _server = null!;

    public async Task InitializeAsync() => _server = await PollingPageServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Open_PagePollsACounter_ShowsEveryNewRowWithoutReloading()
    {
        using var session = BrowserSession.Start();
        session.Open(_server.Url("/"));
        var loadId = WaitForModule(session);
        Assert.Empty(session.Texts("#rows li"));

        _server.Count = 3;
        session.WaitUntil(_ => session.Texts("#rows li").Count == 3, s_guard, "3 rows");
        _server.Count = 7;
        session.WaitUntil(_ => session.Texts("#rows li").Count == 7, s_guard, "7 rows");

        Assert.Equal([.. Enumerable.Range(1, 7).Select(i => $"row {i}")], session.Texts("#rows li"));
        Assert.Equal("7 rows", session.Text("#summary"));
        // The same page all along: the value its module set at load is still there, and it was fetched once.
        Assert.Equal(loadId, session.Script<string>("return window.loadId"));
        Assert.Equal(1, _server.PageLoads);
        Assert.Empty(session.ConsoleErrors());
        Assert.Contains(session.ConsoleLog(), e => e.Message.Contains("app.js loaded", StringComparison.Ordinal));
    }

    [Fact]
    public void Click_ButtonThatPosts_ServerCountsEachClickAndThePageShowsIt()
    {
        using var session = BrowserSession.Start();
        session.Open(_server.Url("/"));
        WaitForModule(session);

        session.Click("#add");
        session.WaitUntil(_ => session.Text("#status") == "clicks: 1", s_guard, "the first click's answer");
        session.Click("#add");
        session.WaitUntil(_ => session.Text("#status") == "clicks: 2", s_guard, "the second click's answer");

        Assert.Equal(2, _server.Clicks);
        Assert.Equal(2L, session.Script<long>("return window.clicksPosted"));
        Assert.Equal(2, session.Script<int>("return window.clicksPosted"));
    }

    [Fact]
    public void Screenshot_Window_IsAPngOfTheWindowSizeShowingThePage()
    {
        using var session = BrowserSession.Start(new BrowserSessionOptions { Width = 640, Height = 480 });
        session.Open(_server.Url("/"));
        WaitForModule(session);
        var png = Path.Combine(_folder.Path, "shots", "page.png");

        session.Screenshot(png);

        Assert.Equal((640, 480), PngImage.ReadSize(png));
        var image = PngImage.Read(png);
        Assert.Equal(0xFF8800, image.Pixel(630, 10)); // the orange block in the top right corner
        Assert.Equal(0xFFFFFF, image.Pixel(630, 470));
    }

    [Fact]
    public void ConsoleErrors_ModuleThrows_ReportsTheError()
    {
        using var session = BrowserSession.Start();
        session.Open(_server.Url("/broken"));

        session.WaitUntil(_ => session.ConsoleErrors().Count > 0, s_guard, "an error in the console");

        Assert.Contains(session.ConsoleErrors(), m => m.Contains("boom from broken.js", StringComparison.Ordinal));
    }

    [Fact]
    public void WaitUntil_ConditionNeverHolds_ThrowsWithWhatThePageUrlItsTextAndConsole()
    {
        using var session = BrowserSession.Start();
        var url = _server.Url("/");
        session.Open(url);
        WaitForModule(session);

        var error = Assert.Throws<TimeoutException>(() => session.WaitUntil(
            driver => driver.FindElement(By.Id("never")).Displayed, TimeSpan.FromMilliseconds(200), "an element that never comes"));

        Assert.Contains("for an element that never comes", error.Message, StringComparison.Ordinal);
        Assert.Contains($"page: {url}", error.Message, StringComparison.Ordinal);
        Assert.Contains("no such element", error.Message, StringComparison.Ordinal);
        Assert.Contains("visible text:\nAdd", error.Message, StringComparison.Ordinal);
        Assert.Contains("app.js loaded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WaitUntil_LongPage_ErrorHasOnlyTheStartOfItsText()
    {
        using var session = BrowserSession.Start();
        session.Open(_server.Url("/long"));

        var error = Assert.Throws<TimeoutException>(() => session.WaitUntil(_ => false, TimeSpan.FromMilliseconds(100), "nothing"));

        Assert.Contains("visible text (first 2,000 of 5,000 characters):\n" + new string('x', 2_000) + "\n", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('x', 2_001), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dispose_AfterUse_LeavesNoProcessAndNoProfile()
    {
        var session = BrowserSession.Start();
        session.Open(_server.Url("/"));
        var browsers = ProcessesWithArgument($"--user-data-dir={session.ProfileFolder}");
        Assert.NotEmpty(browsers);
        Assert.True(session.DriverProcessId > 1);
        Assert.True(IsRunning(session.DriverProcessId));

        session.Dispose();

        Assert.False(IsRunning(session.DriverProcessId));
        Assert.All(browsers, pid => Assert.False(IsRunning(pid), $"browser process {pid} is still running"));
        Assert.False(Directory.Exists(session.ProfileFolder));
    }

    [Fact]
    public void Dispose_DriverHangs_KillsItAndTheBrowser()
    {
        var session = BrowserSession.Start(new BrowserSessionOptions { QuitTimeout = TimeSpan.FromSeconds(1) });
        session.Open(_server.Url("/"));
        var browsers = ProcessesWithArgument($"--user-data-dir={session.ProfileFolder}");
        Assert.NotEmpty(browsers);
        // A stopped chromedriver never answers the quit.
        Assert.True(session.DriverProcessId > 1);
        Signal("STOP", session.DriverProcessId);

        session.Dispose();

        Assert.False(IsRunning(session.DriverProcessId));
        Assert.All(browsers, pid => Assert.False(IsRunning(pid), $"browser process {pid} is still running"));
    }

    [Theory]
    [InlineData("chromedriver")]
    [InlineData("chromium")]
    public void Start_MissingExecutable_ThrowsNamingTheInstallScript(string executable)
    {
        var missing = Path.Combine(_folder.Path, executable);
        var options = executable == "chromium"
            ? new BrowserSessionOptions { ChromiumExecutable = missing }
            : new BrowserSessionOptions { ChromeDriverExecutable = missing };

        var error = Assert.Throws<InvalidOperationException>(() => BrowserSession.Start(options));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("run scripts/chromium.sh install", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SeleniumManager_AskedForADriver_FailsAtOnceInsteadOfDownloading()
    {
        _ = BrowserSession.DriverExecutable; // the harness's static constructor turns Selenium Manager off
        // No driver path: the one case in which Selenium would ask Selenium Manager (a driver path given is used as it is).
        var service = ChromeDriverService.CreateDefaultService(); // never started: nothing to dispose
        var options = new ChromeOptions { BinaryLocation = HeadlessChromium.Executable };

        var error = Assert.ThrowsAny<Exception>(() => new ChromeDriver(service, options).Dispose());

        Assert.Contains("selenium-manager-is-disabled-by-dataflow-tests", error.ToString(), StringComparison.Ordinal);
    }

    private static string WaitForModule(BrowserSession session)
    {
        session.WaitUntil(_ => session.Script<string?>("return window.loadId") is not null, s_guard, "the page's module to run");
        return session.Script<string>("return window.loadId");
    }

    private static List<int> ProcessesWithArgument(string argument)
    {
        var found = new List<int>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && ReadOrEmpty(Path.Combine(folder, "cmdline")).Split('\0').Contains(argument))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    // Running: the process exists and is not a zombie waiting for its parent.
    private static bool IsRunning(int pid)
    {
        var stat = ReadOrEmpty($"/proc/{pid}/stat");
        return stat.Length > 0 && stat[(stat.LastIndexOf(')') + 2)] != 'Z';
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>
    /// A page on 127.0.0.1 whose module polls <c>/api/count</c> every 100 ms and appends a row per new count, with a
    /// button that POSTs to <c>/api/clicks</c>; <c>/broken</c> loads a module that throws; <c>/long</c> is 5,000
    /// characters of text.
    /// </summary>
    private sealed class PollingPageServer : IAsyncDisposable
    {
        private const string Page = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>rows</title>
            <style>body { margin: 0; background: #fff; font: 14px sans-serif }
            #block { position: fixed; top: 0; right: 0; width: 100px; height: 100px; background: #ff8800 }</style>
            </head><body>
            <button id="add">Add</button>
            <p id="status"></p>
            <p id="summary">0 rows</p>
            <ul id="rows"></ul>
            <div id="block"></div>
            <script type="module" src="/app.js"></script>
            </body></html>
            """;

        private const string App = """
            const rows = document.getElementById("rows");
            window.loadId = Math.random().toString(36).slice(2);
            window.clicksPosted = 0;
            console.log("app.js loaded");

            async function poll() {
              try {
                const answer = await fetch("/api/count", { cache: "no-store" });
                const { count } = await answer.json();
                while (rows.children.length < count) {
                  const row = document.createElement("li");
                  row.textContent = `row ${rows.children.length + 1}`;
                  rows.append(row);
                }
                document.getElementById("summary").textContent = `${rows.children.length} rows`;
              } finally {
                setTimeout(poll, 100);
              }
            }

            document.getElementById("add").addEventListener("click", async () => {
              const answer = await fetch("/api/clicks", { method: "POST" });
              const { clicks } = await answer.json();
              window.clicksPosted++;
              document.getElementById("status").textContent = `clicks: ${clicks}`;
            });

            poll();
            """;

        private const string Broken = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>broken</title></head><body>
            <p>broken</p>
            <script type="module" src="/broken.js"></script>
            </body></html>
            """;

        private readonly WebApplication _app;
        private int _count;
        private int _clicks;
        private int _pageLoads;

        private PollingPageServer(WebApplication app) => _app = app;

        public Uri BaseAddress { get; private set; } = null!;

        public int Count
        {
            get => Volatile.Read(ref _count);
            set => Volatile.Write(ref _count, value);
        }

        public int Clicks => Volatile.Read(ref _clicks);

        public int PageLoads => Volatile.Read(ref _pageLoads);

        public Uri Url(string path) => new(BaseAddress, path);

        public static async Task<PollingPageServer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
            {
                ContentRootPath = AppContext.BaseDirectory,
                EnvironmentName = "Production",
            });
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var server = new PollingPageServer(app);
            app.Run(server.HandleAsync);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            server.BaseAddress = new Uri(address.TrimEnd('/') + "/");
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private Task HandleAsync(HttpContext context)
        {
            var (method, path) = (context.Request.Method, context.Request.Path.Value);
            context.Response.Headers.CacheControl = "no-store";
            switch (method, path)
            {
                case ("GET", "/"):
                    Interlocked.Increment(ref _pageLoads);
                    return Write(context, "text/html; charset=utf-8", Page);
                case ("GET", "/app.js"):
                    return Write(context, "text/javascript; charset=utf-8", App);
                case ("GET", "/api/count"):
                    return Write(context, "application/json", $$"""{"count":{{Count}}}""");
                case ("POST", "/api/clicks"):
                    return Write(context, "application/json", $$"""{"clicks":{{Interlocked.Increment(ref _clicks)}}}""");
                case ("GET", "/broken"):
                    return Write(context, "text/html; charset=utf-8", Broken);
                case ("GET", "/broken.js"):
                    return Write(context, "text/javascript; charset=utf-8", """throw new Error("boom from broken.js");""");
                case ("GET", "/long"):
                    return Write(context, "text/html; charset=utf-8", $"<!doctype html><title>long</title><p>{new string('x', 5_000)}</p>");
                case ("GET", "/favicon.ico"):
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                    return Task.CompletedTask;
                default:
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
            }
        }

        private static Task Write(HttpContext context, string contentType, string body)
        {
            context.Response.ContentType = contentType;
            return context.Response.WriteAsync(body);
        }
    }
}
