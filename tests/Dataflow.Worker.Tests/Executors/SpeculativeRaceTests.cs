namespace Dataflow.Worker.Tests.Executors;

/// <summary>
/// The pieces of speculation without a run: the commit claim that lets only one attempt of a task write its marker,
/// and the speculator's threshold.
/// </summary>
public sealed class SpeculativeRaceTests
{
    private static readonly TaskId s_task = new(0, 0);

    private static CommitRace NewRace(CancellationToken run = default) => new(s_task, 0, _ => { }, run);

    private static CommitMarker Marker(int attempt) => new()
    {
        Task = s_task,
        AttemptId = RunLayout.NewAttemptId(attempt),
        Attempt = attempt,
        CommittedAt = DateTimeOffset.UnixEpoch,
        DurationMs = 1,
        Outputs = [],
        Consumed = [],
    };

    [Fact]
    public async Task Claim_TheFirstCommits_TheSecondIsTurnedAwayAndTheFirstIsTheWinner()
    {
        using var race = NewRace();
        Assert.True(await race.ClaimAsync(CancellationToken.None));
        var second = race.ClaimAsync(CancellationToken.None).AsTask();
        await Task.Delay(20);
        Assert.False(second.IsCompleted, "a second claim must wait while the first attempt writes its marker");

        race.Release(Marker(2), backup: true);

        Assert.False(await second);
        Assert.Equal(2, race.Winner);
        Assert.Equal(2, (await race.Won).Attempt);
        Assert.True(race.Primary.IsCancellationRequested, "the backup won: the primary attempt is cancelled");
        Assert.False(race.Backup.IsCancellationRequested);
        Assert.Equal("superseded by attempt 2", race.Superseded);
    }

    [Fact]
    public async Task Claim_TheFirstsMarkerCannotBeStored_TheSecondClaimsIt()
    {
        using var race = NewRace();
        Assert.True(await race.ClaimAsync(CancellationToken.None));
        var second = race.ClaimAsync(CancellationToken.None).AsTask();

        race.Release(null, backup: false);

        Assert.True(await second);
        Assert.Equal(0, race.Winner);
        Assert.False(race.Won.IsCompleted);
        race.Release(Marker(1), backup: false);
        Assert.Equal(1, race.Winner);
        Assert.True(race.Backup.IsCancellationRequested, "the primary won: the backup is cancelled");
    }

    [Fact]
    public async Task TryStartBackup_OnceAtMostAndNeverAfterTheTaskEnded()
    {
        var started = 0;
        using var race = new CommitRace(s_task, 0, _ => started++, CancellationToken.None);

        Assert.True(race.TryStartBackup());
        Assert.False(race.TryStartBackup());
        Assert.Equal(1, started);

        using var ended = new CommitRace(s_task, 0, _ => started++, CancellationToken.None);
        Assert.True(await ended.ClaimAsync(CancellationToken.None));
        ended.Release(Marker(1), backup: false);
        Assert.False(ended.TryStartBackup());
        Assert.Equal(1, started);
    }

    [Fact]
    public void Threshold_WaitsForTheQuantileThenIsTheMultipleOfTheMedianButAtLeastTheFloor()
    {
        var plan = TestPlans.FromPlanner(8, 2); // stage 0: 4 tasks
        var speculator = new Speculator(plan, new SpeculationOptions { Multiplier = 2, Floor = TimeSpan.FromMilliseconds(500), Quantile = 0.75 }, TimeProvider.System);

        speculator.Committed(0, TimeSpan.FromMilliseconds(100));
        speculator.Committed(0, TimeSpan.FromMilliseconds(900));
        Assert.Null(speculator.Threshold(0));

        speculator.Committed(0, TimeSpan.FromMilliseconds(400));
        Assert.Equal(TimeSpan.FromMilliseconds(800), speculator.Threshold(0));

        var floored = new Speculator(plan, new SpeculationOptions { Multiplier = 2, Floor = TimeSpan.FromSeconds(1), Quantile = 0.5 }, TimeProvider.System);
        floored.Committed(0, TimeSpan.FromMilliseconds(10));
        floored.Committed(0, TimeSpan.FromMilliseconds(20));
        Assert.Equal(TimeSpan.FromSeconds(1), floored.Threshold(0));
    }
}
