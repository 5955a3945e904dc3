namespace Dataflow.Worker.Tests.Commits;

public sealed class CommitIndexTests : IDisposable
{
    private static readonly TaskId s_task = new(0, 3);

    private readonly TempFolder _folder = new();
    private readonly IObjectStore _store;
    private readonly RunLayout _layout = new("index-test");

    public CommitIndexTests()
    {
        _store = ObjectStore.OpenFolder(_folder.Path);
    }

    public void Dispose() => _folder.Dispose();

    private CommitMarker Marker(TaskId task, string attemptId) => new()
    {
        Task = task,
        AttemptId = attemptId,
        Attempt = int.Parse(attemptId[1..3], System.Globalization.CultureInfo.InvariantCulture),
        CommittedAt = DateTimeOffset.UnixEpoch,
        DurationMs = 1,
        Outputs = [new CommittedOutput { Name = "out", Size = 1, Key = _layout.OutputKey(task, attemptId, "out") }],
        Consumed = [],
    };

    private async Task PutTaskRecordAsync(TaskId task, string attemptId, string? runId = null) =>
        await _store.PutAsync(
            _layout.TaskCommitKey(task, attemptId),
            RunRecords.Serialize(new CommitRecord { RunId = runId ?? _layout.RunId, Markers = [Marker(task, attemptId)] }));

    private async Task PutBatchRecordAsync(string batchId, params (TaskId Task, string AttemptId)[] markers) =>
        await _store.PutAsync(
            _layout.BatchCommitKey(batchId),
            RunRecords.Serialize(new CommitRecord { RunId = _layout.RunId, Markers = [.. markers.Select(m => Marker(m.Task, m.AttemptId))] }));

    [Fact]
    public async Task SeveralRecordsOfOneTask_EveryReaderPicksTheSmallestAttemptId()
    {
        // Written out of order; the ordinally smallest id wins whatever the attempt number or the writing order.
        await PutTaskRecordAsync(s_task, "a02-00000001");
        await PutTaskRecordAsync(s_task, "a01-ffffffff");
        await PutTaskRecordAsync(s_task, "a01-0000000a");
        await PutTaskRecordAsync(s_task, "a03-00000000");
        await PutBatchRecordAsync("00000001-000001", (s_task, "a01-7fffffff"), (new TaskId(0, 0), "a01-12345678"));

        var found = await CommitIndex.FindAsync(_store, _layout, s_task, CancellationToken.None);
        var all = await CommitIndex.LoadAllAsync(_store, _layout, CancellationToken.None);
        var lookup = new CommitLookup(_store, _layout);
        var looked = await lookup.FindAsync(s_task, CancellationToken.None);

        Assert.Equal("a01-0000000a", found?.AttemptId);
        Assert.Equal("a01-0000000a", all[s_task].AttemptId);
        Assert.Equal("a01-0000000a", looked?.AttemptId);
        Assert.Equal(_layout.OutputKey(s_task, "a01-0000000a", "out"), looked!.GetOutput("out").Key);

        // The batch's other task is found by the readers that read batch records.
        Assert.Equal([new TaskId(0, 0), s_task], all.Keys.Order());
        Assert.Equal("a01-12345678", (await lookup.GetAsync(new TaskId(0, 0), CancellationToken.None)).AttemptId);
    }

    [Fact]
    public async Task BatchRecordHoldingTheSmallestAttemptId_WinsForTheReadersOfBatches()
    {
        await PutTaskRecordAsync(s_task, "a02-00000001");
        await PutTaskRecordAsync(s_task, "a01-ffffffff");
        await PutBatchRecordAsync("00000001-000001", (s_task, "a01-00000000"));

        var all = await CommitIndex.LoadAllAsync(_store, _layout, CancellationToken.None);
        var looked = await new CommitLookup(_store, _layout).FindAsync(s_task, CancellationToken.None);
        var found = await CommitIndex.FindAsync(_store, _layout, s_task, CancellationToken.None);

        Assert.Equal("a01-00000000", all[s_task].AttemptId);
        Assert.Equal("a01-00000000", looked?.AttemptId);

        // FindAsync reads only the per-task records workers write (as documented).
        Assert.Equal("a01-ffffffff", found?.AttemptId);
    }

    [Fact]
    public async Task FindAsync_RecordsOfOtherTasks_AreNotMistakenForTheTask()
    {
        // t000003 is a prefix of neither t000030 nor t000300; stage 1's task 3 is another task.
        await PutTaskRecordAsync(new TaskId(0, 30), "a01-00000000");
        await PutTaskRecordAsync(new TaskId(0, 300), "a01-00000000");
        await PutTaskRecordAsync(new TaskId(1, 3), "a01-00000000");

        Assert.Null(await CommitIndex.FindAsync(_store, _layout, s_task, CancellationToken.None));
        var lookup = new CommitLookup(_store, _layout);
        Assert.Null(await lookup.FindAsync(s_task, CancellationToken.None));
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(async () => await lookup.GetAsync(s_task, CancellationToken.None));
        Assert.Contains($"task {s_task}", missing.Message, StringComparison.Ordinal);
        Assert.Equal(3, (await CommitIndex.LoadAllAsync(_store, _layout, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task NoRecords_NothingFound()
    {
        Assert.Empty(await CommitIndex.LoadAllAsync(_store, _layout, CancellationToken.None));
        Assert.Null(await CommitIndex.FindAsync(_store, _layout, s_task, CancellationToken.None));
        Assert.Null(await new CommitLookup(_store, _layout).FindAsync(s_task, CancellationToken.None));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GetAsync_ProducerSetAsideWhileTheReaderRan_IsALostInputNamingItsObject(bool segments)
    {
        // A map task's partitions are segments of one object; a plain output is a whole object. Either way, a producer
        // whose only commit a repair set aside is an input lost while the reader ran, not a task that never committed.
        const string AttemptId = "a01-00000001";
        var marker = Marker(s_task, AttemptId);
        var objectKey = _layout.OutputKey(s_task, AttemptId, "out");
        if (segments)
        {
            marker = marker with { Outputs = [new CommittedOutput { Name = "p00000", Size = 1, Segments = [new ObjectSegment(objectKey, 0, 1)] }] };
        }

        await _store.PutAsync(_layout.TaskCommitKey(s_task, AttemptId), RunRecords.Serialize(new CommitRecord { RunId = _layout.RunId, Markers = [marker] }));
        await _store.PutAsync(
            _layout.SetAsideKey(s_task, AttemptId),
            RunRecords.Serialize(new CommitRecord { RunId = _layout.RunId, Markers = [], SetAside = [new SetAsideCommit(s_task, AttemptId, "lost", DateTimeOffset.UnixEpoch)] }));

        var lost = await Assert.ThrowsAsync<InputLostException>(async () => await new CommitLookup(_store, _layout).GetAsync(s_task, CancellationToken.None));

        Assert.Equal(objectKey, lost.ObjectKey);
        Assert.Contains($"task {s_task}", lost.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordOfAnotherRun_IsRefused()
    {
        await PutTaskRecordAsync(s_task, "a01-00000001");
        await PutTaskRecordAsync(s_task, "a01-00000002", runId: "some-other-run");

        var all = await Assert.ThrowsAsync<InvalidDataException>(() => CommitIndex.LoadAllAsync(_store, _layout, CancellationToken.None));
        var one = await Assert.ThrowsAsync<InvalidDataException>(() => CommitIndex.FindAsync(_store, _layout, s_task, CancellationToken.None));
        var looked = await Assert.ThrowsAsync<InvalidDataException>(async () => await new CommitLookup(_store, _layout).FindAsync(s_task, CancellationToken.None));

        foreach (var error in new[] { all, one, looked })
        {
            Assert.Contains("'some-other-run'", error.Message, StringComparison.Ordinal);
            Assert.Contains(_layout.TaskCommitKey(s_task, "a01-00000002"), error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task BatchRecordOfAnotherRun_IsRefusedByTheReadersOfBatches()
    {
        await PutTaskRecordAsync(s_task, "a01-00000001");
        await _store.PutAsync(
            _layout.BatchCommitKey("00000001-000001"),
            RunRecords.Serialize(new CommitRecord { RunId = "some-other-run", Markers = [Marker(new TaskId(0, 0), "a01-00000000")] }));

        await Assert.ThrowsAsync<InvalidDataException>(() => CommitIndex.LoadAllAsync(_store, _layout, CancellationToken.None));
        await Assert.ThrowsAsync<InvalidDataException>(async () => await new CommitLookup(_store, _layout).FindAsync(s_task, CancellationToken.None));
    }

    [Fact]
    public async Task LoadAllAsync_CorruptRecord_NamesItsKey()
    {
        var key = _layout.TaskCommitKey(s_task, "a01-00000001");
        await _store.PutAsync(key, "{ not json"u8.ToArray());

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => CommitIndex.LoadAllAsync(_store, _layout, CancellationToken.None));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    private async Task PutShardRecordAsync(int first, int last, string writerId, (TaskId Task, string AttemptId)[] markers, TaskId[]? failed = null) =>
        await _store.PutAsync(
            _layout.ShardCommitKey(0, first, last, writerId),
            RunRecords.Serialize(new CommitRecord
            {
                RunId = _layout.RunId,
                Markers = [.. markers.Select(m => Marker(m.Task, m.AttemptId))],
                Shard = new ShardRun(0, first, last, failed ?? []),
            }));

    [Fact]
    public async Task LoadAllAsync_ShardRecordCopiesTheTasksOwnRecords_ReadsTheShardRecordAloneWithTheSameWinners()
    {
        // A pod ran tasks 0-3: each committed with a record of its own, then the pod stored its shard record.
        var commits = Enumerable.Range(0, 4).Select(i => (Task: new TaskId(0, i), AttemptId: $"a01-0000000{i}")).ToArray();
        foreach (var (task, attempt) in commits)
        {
            await PutTaskRecordAsync(task, attempt);
        }

        var before = await CommitIndex.LoadAllAsync(_store, _layout, CancellationToken.None);
        await PutShardRecordAsync(0, 3, "w00000001", commits);
        await using var counting = new CountingStore(_store);

        var all = await CommitIndex.LoadAllAsync(counting, _layout, CancellationToken.None);
        var shard = await CommitIndex.ReadShardAsync(_store, _layout, 0, 0, 3, CancellationToken.None);

        Assert.Equal(before.OrderBy(w => w.Key).Select(w => (w.Key, w.Value.AttemptId)), all.OrderBy(w => w.Key).Select(w => (w.Key, w.Value.AttemptId)));
        Assert.Equal([_layout.ShardCommitKey(0, 0, 3, "w00000001")], counting.Requests.Where(r => r.Verb == "read").Select(r => r.Key));
        Assert.Equal(commits.Select(c => c.Task), Assert.Single(shard).Markers.Select(m => m.Task));
    }

    [Fact]
    public async Task LoadAllAsync_ADuplicateCommitNoShardRecordHolds_IsReadAndTheSmallestAttemptIdStillWins()
    {
        // The shard record copies a01-ffffffff; another pod of the shard (a duplicate) committed a01-0000000a.
        await PutTaskRecordAsync(s_task, "a01-ffffffff");
        await PutTaskRecordAsync(s_task, "a01-0000000a");
        await PutShardRecordAsync(0, 3, "w00000001", [(s_task, "a01-ffffffff")]);

        var all = await CommitIndex.LoadAllAsync(_store, _layout, CancellationToken.None);
        var found = await CommitIndex.FindAsync(_store, _layout, s_task, CancellationToken.None);

        Assert.Equal("a01-0000000a", all[s_task].AttemptId);
        Assert.Equal("a01-0000000a", found?.AttemptId);
    }

    [Fact]
    public async Task LoadAllAsync_CommitOfAShardRecordSetAside_IsNotAWinner()
    {
        await PutTaskRecordAsync(s_task, "a01-00000001");
        await PutShardRecordAsync(0, 3, "w00000001", [(s_task, "a01-00000001"), (new TaskId(0, 2), "a01-00000002")]);
        await _store.PutAsync(
            _layout.SetAsideKey(s_task, "a01-00000001"),
            RunRecords.Serialize(new CommitRecord { RunId = _layout.RunId, Markers = [], SetAside = [new SetAsideCommit(s_task, "a01-00000001", "lost", DateTimeOffset.UnixEpoch)] }));

        var all = await CommitIndex.LoadAllAsync(_store, _layout, CancellationToken.None);

        Assert.Equal([new TaskId(0, 2)], all.Keys);
    }

    [Fact]
    public async Task CountAttempts_ShardRecordsOfAFailedPodAndItsRetry_CountEachCommitOnceAndEachFailure()
    {
        // The first pod committed task 2 and failed task 3; the second skipped 2 (copying its commit) and committed 3.
        await PutShardRecordAsync(2, 3, "w00000001", [(new TaskId(0, 2), "a01-00000002")], failed: [s_task]);
        await PutShardRecordAsync(2, 3, "w00000002", [(new TaskId(0, 2), "a01-00000002"), (s_task, "a01-00000003")]);

        var records = await CommitIndex.ReadShardAsync(_store, _layout, 0, 2, 3, CancellationToken.None);

        Assert.Equal(2, records.Length);
        Assert.Equal(3, CommitIndex.CountAttempts(records));
        Assert.Equal(["a01-00000002", "a01-00000003"], CommitIndex.Winners(records).OrderBy(w => w.Key).Select(w => w.Value.AttemptId));

        // Another shard's records are not listed with this one's.
        Assert.Empty(await CommitIndex.ReadShardAsync(_store, _layout, 0, 2, 30, CancellationToken.None));
    }

    [Fact]
    public void RunLayout_CommitKeys_AreToldApart()
    {
        var task = _layout.TaskCommitKey(s_task, "a01-0000000a");

        Assert.Equal((s_task, "a01-0000000a"), _layout.TaskCommitOf(task));
        Assert.Null(_layout.TaskCommitOf(_layout.SetAsideKey(s_task, "a01-0000000a")));
        Assert.Null(_layout.TaskCommitOf(_layout.ShardCommitKey(0, 0, 3, "w00000001")));
        Assert.Null(_layout.TaskCommitOf(_layout.BatchCommitKey("00000001-000001")));
        Assert.Null(_layout.TaskCommitOf(new RunLayout("other").TaskCommitKey(s_task, "a01-0000000a")));
        Assert.True(_layout.IsShardCommitKey(_layout.ShardCommitKey(0, 0, 3, "w00000001")));
        Assert.False(_layout.IsShardCommitKey(task));
        Assert.False(_layout.IsShardCommitKey(_layout.BatchCommitKey("00000001-000001")));
    }
}
