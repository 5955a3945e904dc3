using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dataflow.Hosting.Tests.Ui;
using static Dataflow.Benchmarks.EndToEndRunner;

namespace Dataflow.Benchmarks.EndToEnd;

/// <summary>
/// The web UI (issue 17) on a run of a million tasks: its records — plan, 501 commit batch records, summary, report —
/// written once through the runtime's writers (<see cref="SyntheticRun"/>, the test's synthesizer), then in each
/// repetition a fresh <c>ui</c> server asked what the run page asks: the run (<c>/api/runs/{id}?buckets=300</c>),
/// whose first answer is what the page first shows, then again as the page polls until every commit record is read
/// (<c>recordsPending</c> 0). The baselines, back to back in the same repetition (alternating which goes first):
/// what a user had before the UI, <c>status --json</c>'s read (<c>RunCatalog.GetStatusAsync</c>: every commit record),
/// and reading and parsing the run's <c>report.json</c>. Every answer's size is kept; a wrong total fails the benchmark.
/// </summary>
internal static class UiCases
{
    private const int Buckets = 300;

    /// <summary>Markers in each of <see cref="SyntheticRun"/>'s batch records (its default).</summary>
    private const int SyntheticMarkersPerRecord = 2000;

    /// <summary>Runs the comparison <paramref name="repetitions"/> times; <paramref name="quick"/>: 100,000 tasks.</summary>
    public static async Task<BenchmarkResult> CompareAsync(string work, int repetitions, bool quick)
    {
        var culture = CultureInfo.InvariantCulture;
        var inputs = quick ? 100_001 : 1_000_001;
        var folder = Path.Combine(work, "ui-store");
        var store = ObjectStore.OpenFolder(folder);
        await using var _ = store.ConfigureAwait(false);
        var runId = RunIds.New();
        var clock = Stopwatch.StartNew();
        var tasks = await SyntheticRun.WriteAsync(store, runId, inputs).ConfigureAwait(false);
        var written = clock.Elapsed.TotalSeconds;
        var layout = new RunLayout(runId);
        var records = 0;
        var recordBytes = 0L;
        await foreach (var info in store.ListAsync(layout.CommitsPrefix).ConfigureAwait(false))
        {
            records++;
            recordBytes += info.Size;
        }

        var (status, report, firstView, allRead, start) = (new List<double>(), new List<double>(), new List<double>(), new List<double>(), new List<double>());
        var (watched, serialized, paced) = (new List<double>(), new List<double>(), new List<double>());
        var sample = await SampleRecordsAsync(store, layout).ConfigureAwait(false);
        var polls = new List<int>();
        var longest = new List<double>();
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var rep = 0; rep < repetitions; rep++)
        {
            Func<Task>[] cases =
            [
                async () => status.Add(await StatusAsync(store, runId, tasks).ConfigureAwait(false)),
                async () => report.Add(await ReportAsync(store, layout, tasks).ConfigureAwait(false)),
                async () =>
                {
                    var ui = await UiAsync(store, runId, tasks, sizes, TimeSpan.Zero).ConfigureAwait(false);
                    start.Add(ui.Start);
                    firstView.Add(ui.FirstView);
                    allRead.Add(ui.AllRead);
                    polls.Add(ui.Polls);
                    longest.Add(ui.Longest);
                },
                async () => paced.Add((await UiAsync(store, runId, tasks, sizes, s_pagePollDelay).ConfigureAwait(false)).AllRead),
                () =>
                {
                    (var w, var f) = ParseRecords(sample, rep % 2 == 0);
                    watched.Add(w);
                    serialized.Add(f);
                    return Task.CompletedTask;
                },
            ];
            foreach (var run in rep % 2 == 0 ? cases : cases.Reverse())
            {
                await run().ConfigureAwait(false);
            }

            Console.Error.WriteLine(string.Create(culture, $"e2e: ui {rep + 1}/{repetitions}: first view {firstView[^1]:0.000} s, all read {allRead[^1]:0.000} s ({polls[^1]} answers), status {status[^1]:0.000} s, report {report[^1]:0.000} s"));
        }

        var largest = sizes.MaxBy(s => s.Value);
        var note = string.Create(culture, $"{tasks:N0} tasks, {records} records ({ByteSize.Format(recordBytes)})");
        var rows = new List<Comparison>
        {
            Comparison.Of("first `/api/runs/{id}` answer, fresh server", firstView, "`status` (GetStatusAsync)", status, note),
            Comparison.Of("first `/api/runs/{id}` answer, fresh server", firstView, "read + parse report.json", report, note),
            Comparison.Of("every record read (`recordsPending` 0)", allRead, "`status` (GetStatusAsync)", status, string.Create(culture, $"median {Median(polls.Select(p => (double)p)):0} answers")),
            Comparison.Of("every record read, polled as run.js polls (50 ms between answers while records are pending)", paced, "`status` (GetStatusAsync)", status, "what a browser sees"),
            Comparison.Of("parse: the watcher's reader (WatchedRecords)", watched, "parse: the serializer (DeserializeCommitRecord)", serialized, string.Create(culture, $"{sample.Count} of the records, {sample.Sum(r => r.Length) / (double)(1 << 20):0} MiB, in memory")),
        };
        var details = new StringBuilder();
        details.AppendLine(string.Create(culture, $"Run written through the record writers in {written:0.0} s: {tasks:N0} tasks, {records} commit records of 2,000 markers ({ByteSize.Format(recordBytes)}). Server start (not in the times): median {Median(start) * 1000:0} ms. Longest single `/api/runs/{{id}}` answer while reading: median {Median(longest) * 1000:0} ms (a refresh reads records for at most {Dataflow.Hosting.RunWatchers.RefreshBudget.TotalMilliseconds:0} ms)."));
        details.AppendLine();
        details.AppendLine("| answer | bytes |");
        details.AppendLine("|---|---:|");
        foreach (var (path, bytes) in sizes.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            details.AppendLine(string.Create(culture, $"| `{path}` | {bytes:N0} |"));
        }

        details.AppendLine();
        details.AppendLine(string.Create(culture, $"Largest answer: `{largest.Key}`, {largest.Value:N0} bytes (limit 1 MiB: {(largest.Value < (1 << 20) ? "met" : "**not met**")})."));
        return new BenchmarkResult(
            "The UI at a million tasks",
            string.Create(culture, $"A fresh `ui` server on a synthesized {tasks:N0}-task run (local folder store, records in the page cache): the time to its first `/api/runs/{{id}}?buckets={Buckets}` answer (what the run page first shows: stage totals from the report while records are read) and until the page's polls have read every commit record, against `status`'s read of the same run and reading its report.json, in the same repetition."),
            rows,
            details.ToString());
    }

    /// <summary>Every fifth commit record's bytes: the parse comparison's input.</summary>
    private static async Task<List<byte[]>> SampleRecordsAsync(IObjectStore store, RunLayout layout)
    {
        var keys = new List<string>();
        await foreach (var info in store.ListAsync(layout.CommitsPrefix).ConfigureAwait(false))
        {
            keys.Add(info.Key);
        }

        var sample = new List<byte[]>();
        // Full records only (the last may be shorter).
        for (var i = 0; i < keys.Count - 1; i += 5)
        {
            sample.Add(await store.ReadAllBytesAsync(keys[i]).ConfigureAwait(false));
        }

        return sample;
    }

    /// <summary>Seconds to parse <paramref name="sample"/> with the watcher's reader and with the serializer (in that order when <paramref name="watchedFirst"/>).</summary>
    private static (double Watched, double Serialized) ParseRecords(List<byte[]> sample, bool watchedFirst)
    {
        double Time(Func<byte[], int> parse)
        {
            var clock = Stopwatch.StartNew();
            var markers = sample.Sum(parse);
            var seconds = clock.Elapsed.TotalSeconds;
            Check("markers parsed", markers, sample.Count * SyntheticMarkersPerRecord);
            return seconds;
        }

        var first = Time(watchedFirst ? b => WatchedRecords.Read(b, "sample").Markers.Count : b => RunRecords.DeserializeCommitRecord(b, "sample").Markers.Count);
        var second = Time(watchedFirst ? b => RunRecords.DeserializeCommitRecord(b, "sample").Markers.Count : b => WatchedRecords.Read(b, "sample").Markers.Count);
        return watchedFirst ? (first, second) : (second, first);
    }

    private static async Task<double> StatusAsync(IObjectStore store, string runId, int tasks)
    {
        var clock = Stopwatch.StartNew();
        var status = await RunCatalog.GetStatusAsync(store, runId).ConfigureAwait(false) ?? throw new InvalidOperationException($"status: no run {runId}");
        var seconds = clock.Elapsed.TotalSeconds;
        Check("status", status.Stages.Sum(s => s.Committed), tasks);
        return seconds;
    }

    private static async Task<double> ReportAsync(IObjectStore store, RunLayout layout, int tasks)
    {
        var clock = Stopwatch.StartNew();
        var report = RunRecords.DeserializeReport(await store.ReadAllBytesAsync(layout.ReportKey).ConfigureAwait(false));
        var seconds = clock.Elapsed.TotalSeconds;
        Check("report.json", report.Stages.Sum(s => s.Committed), tasks);
        return seconds;
    }

    private sealed record UiTimes(double Start, double FirstView, double AllRead, int Polls, double Longest);

    /// <summary>How long the run page waits between two polls of a run whose records are still being read (run.js: 50 ms; 1 s while a run runs).</summary>
    private static readonly TimeSpan s_pagePollDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// A fresh server asked for the run until every record is read, waiting <paramref name="pause"/> between an answer
    /// and the next request; the sizes of its answers go to <paramref name="sizes"/>.
    /// </summary>
    private static async Task<UiTimes> UiAsync(IObjectStore store, string runId, int tasks, Dictionary<string, long> sizes, TimeSpan pause)
    {
        var clock = Stopwatch.StartNew();
        var server = await UiServer.StartAsync(new UiOptions { Store = store, Port = 0 }, CancellationToken.None).ConfigureAwait(false);
        await using var _ = server.ConfigureAwait(false);
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(5) };
        var started = clock.Elapsed.TotalSeconds;

        clock.Restart();
        var run = await GetAsync(http, $"api/runs/{runId}?buckets={Buckets}", "/api/runs/{id} (first)", sizes).ConfigureAwait(false);
        var firstView = clock.Elapsed.TotalSeconds;
        var longest = firstView;
        Check("first /api/runs/{id}: tasks committed", run.GetProperty("run").GetProperty("tasksCommitted").GetInt32(), tasks);
        var polls = 1;
        while (run.GetProperty("run").GetProperty("recordsPending").GetInt32() > 0)
        {
            await Task.Delay(pause).ConfigureAwait(false);
            var before = clock.Elapsed.TotalSeconds;
            run = await GetAsync(http, $"api/runs/{runId}?buckets={Buckets}&since={run.GetProperty("version").GetInt64()}", "/api/runs/{id} (polls)", sizes).ConfigureAwait(false);
            longest = Math.Max(longest, clock.Elapsed.TotalSeconds - before);
            polls++;
        }

        var allRead = clock.Elapsed.TotalSeconds;
        Check("/api/runs/{id}: tasks committed", run.GetProperty("run").GetProperty("tasksCommitted").GetInt32(), tasks);
        Check("/api/runs/{id}: records pending", run.GetProperty("run").GetProperty("recordsPending").GetInt32(), 0);

        // The rest of what the page asks, for their sizes.
        await GetAsync(http, "api/store", "/api/store", sizes).ConfigureAwait(false);
        await GetAsync(http, "api/runs", "/api/runs", sizes).ConfigureAwait(false);
        var page = await GetAsync(http, $"api/runs/{runId}/tasks?stage=0&offset=0&limit=1000", "/api/runs/{id}/tasks (1,000)", sizes).ConfigureAwait(false);
        Check("a page of tasks", page.GetProperty("items").GetArrayLength(), 1000);
        await GetAsync(http, $"api/runs/{runId}/tasks/0/0", "/api/runs/{id}/tasks/0/0", sizes).ConfigureAwait(false);
        return new UiTimes(started, firstView, allRead, polls, longest);
    }

    private static async Task<JsonElement> GetAsync(HttpClient http, string path, string name, Dictionary<string, long> sizes)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative)).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
        }

        sizes[name] = Math.Max(sizes.GetValueOrDefault(name), body.Length);
        using var json = JsonDocument.Parse(body);
        return json.RootElement.Clone();
    }

    private static void Check(string what, int actual, int expected)
    {
        if (actual != expected)
        {
            throw new InvalidOperationException($"ui benchmark: {what} is {actual:N0}, not {expected:N0}");
        }
    }
}
