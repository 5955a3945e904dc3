using OpenQA.Selenium;

namespace Dataflow.Hosting.Tests.Ui.Browser;

/// <summary>
/// The ui command's pages in headless Chromium, on runs made in this process: the runs page with a run of every state
/// (and a state that changes while the page is open), a failed run's page with the failing task's error and inputs,
/// store values holding markup shown as text, and the token. Writes docs/ui-runs.png and docs/ui-failed.png when
/// <see cref="Screenshots.UpdateVariable"/> is 1 (else to a temporary folder).
/// </summary>
public sealed class UiPagesInBrowserTests : IAsyncLifetime, IDisposable
{
    /// <summary>A guard against hangs, not a measure: the runs page asks every 3 s, a run's page every second.</summary>
    private static readonly TimeSpan s_guard = TimeSpan.FromSeconds(30);

    private readonly TempFolder _folder = new();
    private IObjectStore _store = null!;
    private UiRuns _runs = null!;
    private UiServer? _server;

    public async Task InitializeAsync()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
        _runs = new UiRuns(_store);
        await _runs.WriteInputsAsync();
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        await _store.DisposeAsync();
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task RunsPage_RunsOfEveryState_EachWithItsBadge_AndARunThatEndsChangesWithoutReload()
    {
        var succeeded = await _runs.SucceededAsync("output/letters.txt");
        var failed = await _runs.FailedAsync("output/letters-2.txt", "input/00005.txt: expected letters A-Z, found a digit at byte 0");
        var cancelled = await _runs.CancelledAsync("output/letters-3.txt");
        var interrupted = await _runs.InterruptedAsync("output/letters-4.txt");
        await using var running = await _runs.StartRunningAsync("output/letters-5.txt");
        var address = await StartAsync();
        using var session = BrowserSession.Start(new BrowserSessionOptions { Width = 1280, Height = 480 });

        session.Open(address);
        session.WaitUntil(_ => session.Texts("#runs-table tr[data-run-id]").Count == 5, s_guard, "the 5 runs in the table");
        session.Script<object>("window.__marker = 'first load'");

        Assert.Equal(
            [(running.RunId, "running"), (interrupted, "interrupted"), (cancelled, "cancelled"), (failed, "failed"), (succeeded, "succeeded")],
            Rows(session));
        Assert.Equal("15 / 15", session.Text($"{Row(succeeded)} .tasks"));
        Assert.Contains("found a digit", session.Text($"{Row(failed)} .output"), StringComparison.Ordinal);
        Assert.NotEqual("–", session.Text($"{Row(running.RunId)} .duration")); // how long it has run so far
        Assert.Equal("–", session.Text($"{Row(interrupted)} .duration"));
        Screenshots.Take(session, "ui-runs.png");

        running.Release();
        await running.Completion.WaitAsync(s_guard);
        session.WaitUntil(_ => session.Text($"{Row(running.RunId)} .state") == "succeeded", s_guard, "the running run's row to say succeeded");

        Assert.Equal("15 / 15", session.Text($"{Row(running.RunId)} .tasks"));

        // Its link opens its page in place.
        session.Click($"{Row(running.RunId)} a.run-link");
        session.WaitUntil(_ => session.Texts("#run-progress").SingleOrDefault() == "15 / 15 committed (100 %)", s_guard, "the run's page with its 15 tasks committed");
        Assert.Equal("succeeded", session.Text("#run-state"));
        Assert.Equal("first load", session.Script<string>("return window.__marker"));
        Assert.Empty(session.ConsoleErrors());
    }

    [Fact]
    public async Task RunPage_FailedRun_ShowsTheFailingTasksErrorAndInputKeys_AndTheRunsError()
    {
        const string Error = "input/00005.txt: expected letters A-Z, found a digit at byte 0";
        var failed = await _runs.FailedAsync("output/letters.txt", Error);
        var address = await StartAsync();
        using var session = BrowserSession.Start(new BrowserSessionOptions { Width = 1280, Height = 900 });

        session.Open(new Uri(address, $"#/runs/{failed}"));
        session.WaitUntil(_ => session.Texts("#failures .failure-error").Count == 2, s_guard, "the failed task's 2 attempts");

        Assert.Equal("failed", session.Text("#run-state"));
        Assert.All(session.Texts("#failures .failure-error"), text => Assert.Contains(Error, text, StringComparison.Ordinal));
        Assert.Equal([.. UiRuns.FailingInputs, .. UiRuns.FailingInputs], session.Texts("#failures .input-key"));
        Assert.Collection(
            session.Texts("#failures li.failure > div:first-child"),
            newest => Assert.StartsWith("level-1 task 2 attempt 2", newest, StringComparison.Ordinal),
            oldest => Assert.StartsWith("level-1 task 2 attempt 1", oldest, StringComparison.Ordinal));
        Assert.Contains(Error, session.Text("#run-error"), StringComparison.Ordinal);
        Assert.Equal("1", session.Text("#stages-table tr[data-stage='0'] .failed"));
        session.Script<object>("document.querySelector('.run-header').scrollIntoView()");
        Screenshots.Take(session, "ui-failed.png");

        // The failed task among its stage's tasks, and its inputs when clicked.
        session.Script<object>("const s = document.getElementById('task-state'); s.value = 'failed'; s.dispatchEvent(new Event('change'))");
        session.WaitUntil(_ => session.Texts("#tasks-table tr.task td:first-child").SequenceEqual(["2"]), s_guard, "the failed task 2 alone in the tasks table");
        Assert.Equal("1–1 of 1", session.Text("#tasks-position"));
        Assert.Equal(["", ""], session.Texts("#tasks-table tr.task td:nth-child(n+7)")); // no bytes: nothing committed
        Assert.False(session.Driver.FindElement(By.Id("tasks-next")).Enabled);
        session.Click("#tasks-table tr.task");
        session.WaitUntil(_ => session.Texts("#task-detail .input-key").Count == 2, s_guard, "the failed task's inputs");
        Assert.Equal(UiRuns.FailingInputs, session.Texts("#task-detail .input-key"));
        Assert.StartsWith("Task 0/2 of level-1", session.Text("#task-detail h3"), StringComparison.Ordinal);

        // A narrower window: the timeline is drawn again to fit, though the ended run never changes.
        var wide = session.Script<long>("return document.getElementById('timeline').clientWidth");
        session.Driver.Manage().Window.Size = new System.Drawing.Size(900, 900);
        session.WaitUntil(_ => session.Script<long>("return document.getElementById('timeline').clientWidth") < wide - 200, s_guard, "the timeline redrawn narrower");
        Assert.True(session.Script<bool>("const c = document.getElementById('timeline'); return c.getBoundingClientRect().right <= document.getElementById('main').getBoundingClientRect().right"), "the timeline overflows its box");
        Assert.Empty(session.ConsoleErrors());
    }

    [Fact]
    public async Task RunPage_PartialRun_SaysPartialAndListsTheFailedInputs()
    {
        var partial = await _runs.PartialAsync("output/letters.txt");
        var address = await StartAsync();
        using var session = BrowserSession.Start(new BrowserSessionOptions { Width = 1280, Height = 900 });

        session.Open(new Uri(address, $"#/runs/{partial}"));
        session.WaitUntil(_ => session.Texts("#summary-status").SingleOrDefault() is not null, s_guard, "the run's summary");

        Assert.Equal("succeeded (partial)", session.Text("#summary-status"));
        Assert.Equal($"2 left out of the output (--max-failed-inputs): {string.Join(", ", UiRuns.FailingInputs)}", session.Text("#failed-inputs"));
        Assert.Empty(session.ConsoleErrors());
    }

    [Fact]
    public async Task Markup_InAnErrorAnInputKeyAndArguments_IsShownAsText_AndNeverRuns()
    {
        var markup = UiServerTests.Markup;
        // An input whose key holds markup too, sorted between 00004 and 00005: one of the failing task's two inputs.
        const string MarkupKey = "input/00004<img src=x onerror=\"window.pwned = 3\">.txt";
        await _store.PutAsync(MarkupKey, "Q"u8.ToArray());
        var failed = await _runs.FailedAsync("output/letters.txt", $"bad input {markup}", arguments: ["--note", markup]);
        var address = await StartAsync();
        using var session = BrowserSession.Start();

        session.Open(address);
        session.WaitUntil(_ => session.Texts("#runs-table tr[data-run-id]").Count == 1, s_guard, "the run in the table");
        Assert.Contains(markup, TextContent(session, $"{Row(failed)} .output"), StringComparison.Ordinal);

        session.Open(new Uri(address, $"#/runs/{failed}"));
        session.WaitUntil(_ => session.Texts("#failures .failure-error").Count == 2, s_guard, "the failed task's 2 attempts");
        Assert.Contains($"bad input {markup}", TextContent(session, "#failures .failure-error"), StringComparison.Ordinal);
        Assert.Contains(markup, TextContent(session, "#run-error"), StringComparison.Ordinal);
        Assert.Contains($"--note {markup}", TextContent(session, "#run-facts"), StringComparison.Ordinal);
        Assert.Contains("<script>window.pwned = 1</script>", session.VisibleText(), StringComparison.Ordinal);
        Assert.Equal(["input/00004.txt", MarkupKey], session.Script<IReadOnlyCollection<object>>("return [...document.querySelectorAll('#failures li.failure')[0].querySelectorAll('.input-key')].map(k => k.textContent)").Cast<string>());

        // Nothing was made of it: no image, no script but the page's own module, and nothing ran.
        Assert.Equal(0L, session.Script<long>("return document.querySelectorAll('img').length"));
        Assert.Equal(["/assets/app.js"], session.Script<IReadOnlyCollection<object>>("return [...document.scripts].map(s => s.getAttribute('src'))").Cast<string>());
        Assert.Equal("undefined", session.Script<string>("return typeof window.pwned"));
        Assert.Empty(session.ConsoleErrors());
    }

    [Fact]
    public async Task Token_PageWithoutIt_SaysSo_WithItInTheAddress_ShowsTheRuns()
    {
        const string Token = "a-browser-test-token-0123456789";
        var succeeded = await _runs.SucceededAsync("output/letters.txt");
        _server = await UiServer.StartAsync(new UiOptions { Store = _store, Port = 0, Token = Token }, CancellationToken.None);
        using var session = BrowserSession.Start();

        session.Open(_server.Address);
        Assert.Contains("this Dataflow UI needs its token", session.VisibleText(), StringComparison.Ordinal);
        Assert.Empty(session.Texts("#runs-table"));

        session.Open(new Uri(_server.Address, $"?token={Token}"));
        session.WaitUntil(_ => session.Texts("#runs-table tr[data-run-id]").Count == 1, s_guard, "the run in the table");

        Assert.Equal("succeeded", session.Text($"{Row(succeeded)} .state"));
        Assert.DoesNotContain(Token, session.Driver.Url, StringComparison.Ordinal);
    }

    private async Task<Uri> StartAsync()
    {
        _server = await UiServer.StartAsync(new UiOptions { Store = _store, Port = 0 }, CancellationToken.None);
        return _server.Address;
    }

    private static string Row(string runId) => $"#runs-table tr[data-run-id='{runId}']";

    private static List<(string, string)> Rows(BrowserSession session) =>
        [.. session.Driver.FindElements(By.CssSelector("#runs-table tr[data-run-id]")).Select(row => (row.GetAttribute("data-run-id")!, row.FindElement(By.CssSelector(".state")).Text))];

    private static string TextContent(BrowserSession session, string cssSelector) =>
        session.Script<string>("return document.querySelector(arguments[0]).textContent", cssSelector);
}
