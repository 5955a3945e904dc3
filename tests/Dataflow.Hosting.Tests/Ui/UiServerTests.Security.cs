using System.Net;
using System.Net.Http.Headers;

namespace Dataflow.Hosting.Tests.Ui;

public sealed partial class UiServerTests
{
    private const string Token = "a-test-token-of-32-characters-xx";

    [Fact]
    public async Task Token_RequestsWithoutIt_Get401_WithItAsBearerOrCookie_Pass()
    {
        await StartAsync(new UiOptions { Store = _store, Port = 0, Token = Token });

        foreach (var path in new[] { "", "api/runs", $"api/runs/{_succeeded}", "assets/app.js", $"runs/{_succeeded}/outputs/0" })
        {
            using var refused = await _http.GetAsync(new Uri(_server!.Address, path));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.DoesNotContain(Token, await refused.Content.ReadAsStringAsync());
        }

        using var wrong = new HttpRequestMessage(HttpMethod.Get, new Uri(_server!.Address, "api/runs"));
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token[..^1] + "y");
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.SendAsync(wrong)).StatusCode);

        using var bearer = new HttpRequestMessage(HttpMethod.Get, new Uri(_server.Address, "api/runs"));
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Assert.Equal(HttpStatusCode.OK, (await _http.SendAsync(bearer)).StatusCode);

        // The printed address carries the token once: the server keeps it in an HttpOnly cookie and drops it from the address.
        var cookies = new CookieContainer();
        using var handler = new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false };
        using var browser = new HttpClient(handler);
        using var first = await browser.GetAsync(new Uri(_server.Address, $"?token={Token}"));
        Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
        Assert.Equal("/", first.Headers.Location?.OriginalString);
        var cookie = Assert.Single(cookies.GetCookies(_server.Address).Cast<Cookie>());
        Assert.True(cookie.HttpOnly);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(_server.Address, "api/runs"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(_server.Address)).StatusCode);
    }

    [Fact]
    public async Task Host_OtherThanLoopback_IsRefused_AgainstDnsRebinding()
    {
        await StartAsync();

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_server!.Address, "api/runs"));
        request.Headers.Host = $"attacker.example:{_server.Address.Port}";
        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);
        using var localhost = new HttpRequestMessage(HttpMethod.Get, new Uri(_server.Address, "api/runs"));
        localhost.Headers.Host = $"localhost:{_server.Address.Port}";
        Assert.Equal(HttpStatusCode.OK, (await _http.SendAsync(localhost)).StatusCode);
    }

    [Fact]
    public async Task StartAsync_NonLoopbackWithoutToken_Refuses()
    {
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => UiServer.StartAsync(new UiOptions { Store = _store, Port = 0, Address = IPAddress.Any }, CancellationToken.None));
        Assert.Contains("give a token", refused.Message);
    }

    [Fact]
    public async Task Actions_AreRefused_UnlessAllowed()
    {
        await StartAsync();

        foreach (var action in UiActions.Names)
        {
            using var response = await PostActionAsync(_failed, action);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("--allow-actions", await response.Content.ReadAsStringAsync());
        }

        // Nothing was done: the failed run's data is still there.
        Assert.Equal("failed", (await GetJsonAsync($"api/runs/{_failed}")).GetProperty("run").GetProperty("state").GetString());
        using var get = await _http.GetAsync(new Uri(_server!.Address, $"api/runs/{_failed}/gc"));
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task Actions_WhenAllowed_NeedTheirHeader_AndGcCleansAnEndedRun()
    {
        await StartAsync(new UiOptions { Store = _store, Port = 0, AllowActions = true });

        // Intermediate data the failed run left (how much its tasks committed before it failed depends on timing).
        await _store.PutAsync(RunIds.RecordsPrefix(_failed) + "data/s0000/t000000.a01-0000000f.out", "A"u8.ToArray());
        var dataBefore = await _store.ListAllAsync(RunIds.RecordsPrefix(_failed) + "data/");
        Assert.NotEmpty(dataBefore);

        using var withoutHeader = await _http.PostAsync(new Uri(_server!.Address, $"api/runs/{_failed}/gc"), null);
        Assert.Equal(HttpStatusCode.Forbidden, withoutHeader.StatusCode);
        Assert.NotEmpty(await _store.ListAllAsync(RunIds.RecordsPrefix(_failed) + "data/"));

        using var gc = await PostActionAsync(_failed, "gc");
        Assert.Equal(HttpStatusCode.OK, gc.StatusCode);
        Assert.Contains($"deleted {dataBefore.Count} intermediate objects", await gc.Content.ReadAsStringAsync());
        Assert.Empty(await _store.ListAllAsync(RunIds.RecordsPrefix(_failed) + "data/"));

        using var cancelEnded = await PostActionAsync(_succeeded, "cancel");
        Assert.Equal(HttpStatusCode.Conflict, cancelEnded.StatusCode);
        using var resumeHere = await PostActionAsync(_interrupted, "resume");
        Assert.Equal(HttpStatusCode.NotImplemented, resumeHere.StatusCode);
    }

    [Fact]
    public async Task Resume_OfAnInterruptedRun_RunsItInTheServersProcessToSuccess()
    {
        var job = Job("output/interrupted.txt", failing: false);
        await StartAsync(new UiOptions
        {
            Store = _store,
            Port = 0,
            AllowActions = true,
            Resume = async (runId, token) => (await new JobRunner(_store, new JobRunnerOptions()).ResumeAsync(job, runId, cancellationToken: token)).Summary.Status == "succeeded" ? 0 : 1,
        });

        using var resume = await PostActionAsync(_interrupted, "resume");
        Assert.Equal(HttpStatusCode.Accepted, resume.StatusCode);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string? state = null;
        while (state != "succeeded")
        {
            await Task.Delay(100, timeout.Token);
            var run = (await GetJsonAsync($"api/runs/{_interrupted}")).GetProperty("run");
            state = run.GetProperty("state").GetString();
        }

        Assert.Equal(await _store.ReadAllBytesAsync("output/ok.txt"), await _store.ReadAllBytesAsync("output/interrupted.txt"));
        using var again = await PostActionAsync(_interrupted, "resume");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    private async Task<HttpResponseMessage> PostActionAsync(string runId, string action)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_server!.Address, $"api/runs/{runId}/{action}"));
        request.Headers.Add("X-Dataflow-Action", "1");
        return await _http.SendAsync(request);
    }
}
