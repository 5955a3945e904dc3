using System.Diagnostics;

namespace Dataflow.Storage.Tests.Local;

/// <summary>
/// The folder store's temporary files: named after their owner process, deleted at once when a write fails, and by
/// <see cref="IObjectStore.RemoveLeftoversAsync"/> once their owner is gone.
/// </summary>
public sealed class LocalFolderStoreLeftoverTests : IDisposable
{
    private readonly string _base = Path.Combine(Path.GetTempPath(), "dataflow-storage-tests", Guid.NewGuid().ToString("N"));
    private readonly string _root;
    private readonly string _temp;
    private readonly IObjectStore _store;

    public LocalFolderStoreLeftoverTests()
    {
        _root = Path.Combine(_base, "store");
        _temp = Path.Combine(_root, LocalFolderStore.TempFolderName);
        _store = ObjectStore.OpenFolder(_root);
    }

    public void Dispose()
    {
        if (Directory.Exists(_base))
        {
            Directory.Delete(_base, recursive: true);
        }
    }

    private string[] TempFiles() => Directory.Exists(_temp) ? Directory.GetFiles(_temp).Select(p => Path.GetFileName(p)).ToArray() : [];

    /// <summary>A temporary file as a writer would leave it, of <paramref name="bytes"/> bytes.</summary>
    private string Leftover(string name, int bytes, TimeSpan? age = null)
    {
        Directory.CreateDirectory(_temp);
        var path = Path.Combine(_temp, name);
        File.WriteAllBytes(path, new byte[bytes]);
        if (age is { } a)
        {
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow - a);
        }

        return name;
    }

    private static string NameOf(int pid, long start, string? machine = null) =>
        new TempFileOwner(machine ?? TempFileOwner.Current.Machine, pid, start).NewFileName();

    /// <summary>The id of a process that ran and has exited.</summary>
    private static int DeadProcessId()
    {
        using var process = Process.Start(new ProcessStartInfo(OperatingSystem.IsWindows() ? "cmd.exe" : "sh") { ArgumentList = { OperatingSystem.IsWindows() ? "/c" : "-c", "exit 0" } })!;
        process.WaitForExit();
        return process.Id;
    }

    [Fact]
    public async Task OpenWriteAsync_TemporaryFile_IsNamedAfterThisProcess()
    {
        var writer = await _store.OpenWriteAsync("obj");
        await using (writer)
        {
            var name = Assert.Single(TempFiles());

            Assert.True(TempFileOwner.TryParse(name, out var owner), name);
            Assert.Equal(TempFileOwner.Current, owner);
            Assert.Equal(Environment.ProcessId, owner.ProcessId);
            Assert.True(owner.IsRunning());
        }
    }

    [Fact]
    public async Task RemoveLeftoversAsync_FileOfAProcessThatExited_IsDeletedAndCounted()
    {
        var dead = DeadProcessId();
        Leftover(NameOf(dead, 12345), 1000);
        Leftover(NameOf(dead, 1), 234);

        var removed = await _store.RemoveLeftoversAsync();

        Assert.Equal(new StoreLeftovers(2, 1234), removed);
        Assert.Empty(TempFiles());
    }

    [Fact]
    public async Task RemoveLeftoversAsync_LiveWriters_AreKept()
    {
        // This process's own file, an open write, and another live process of this machine with its start time.
        var own = Leftover(TempFileOwner.Current.NewFileName(), 10);
        using var other = Process.Start(OperatingSystem.IsWindows() ? new ProcessStartInfo("ping") { ArgumentList = { "-n", "60", "127.0.0.1" } } : new ProcessStartInfo("sleep") { ArgumentList = { "60" } })!;
        try
        {
            var otherStart = TempFileOwner.StartTimeOf(other.Id);
            Assert.NotNull(otherStart);
            var live = Leftover(NameOf(other.Id, otherStart.Value), 20);

            // The same id with another start time: a later process reusing the id of a dead owner.
            var reused = Leftover(NameOf(other.Id, otherStart.Value + 1), 30);
            var writer = await _store.OpenWriteAsync("pending");
            await using (writer)
            {
                await writer.WriteAsync(new byte[100]);
                await writer.FlushAsync();

                var removed = await _store.RemoveLeftoversAsync();

                Assert.Equal(new StoreLeftovers(1, 30), removed);
                Assert.DoesNotContain(reused, TempFiles());
                Assert.Contains(own, TempFiles());
                Assert.Contains(live, TempFiles());
                Assert.Equal(3, TempFiles().Length);
                await writer.CompleteAsync();
            }

            Assert.Equal(100, (await _store.HeadAsync("pending"))!.Size);
        }
        finally
        {
            other.Kill();
            await other.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task RemoveLeftoversAsync_FilesWhoseOwnerCannotBeChecked_AreDeletedAfterADay()
    {
        // Another machine sharing the folder, and files of the naming before owners (a bare GUID): kept while
        // recent, deleted once their last write is more than a day old. Folders are not touched.
        var freshForeign = Leftover(NameOf(4242, 99, machine: "another-host.4026531836"), 1);
        Leftover(NameOf(4242, 99, machine: "another-host.4026531836"), 200, age: TimeSpan.FromHours(25));
        var freshOld = Leftover(Guid.NewGuid().ToString("N"), 1);
        Leftover(Guid.NewGuid().ToString("N"), 110 << 10, age: TimeSpan.FromDays(3));
        Directory.CreateDirectory(Path.Combine(_temp, "folder"));

        var removed = await _store.RemoveLeftoversAsync();

        Assert.Equal(new StoreLeftovers(2, 200 + (110 << 10)), removed);
        Assert.Equal(new[] { freshForeign, freshOld }.Order(StringComparer.Ordinal), TempFiles().Order(StringComparer.Ordinal));
        Assert.True(Directory.Exists(Path.Combine(_temp, "folder")));
    }

    [Fact]
    public async Task RemoveLeftoversAsync_NoTemporaryFolder_RemovesNothing() =>
        Assert.Equal(StoreLeftovers.None, await _store.RemoveLeftoversAsync());

    [Fact]
    public void TryParse_NamesOfOtherShapes_AreNotOwners()
    {
        foreach (var name in new[] { "0123456789abcdef0123456789abcdef", "x.tmp", "-1-2-0123456789abcdef0123456789abcdef.tmp", "h-x-2-0123456789abcdef0123456789abcdef.tmp", "h-1-2-short.tmp" })
        {
            Assert.False(TempFileOwner.TryParse(name, out _), name);
        }

        Assert.True(TempFileOwner.TryParse("my-host.1-7-ff-0123456789abcdef0123456789abcdef.tmp", out var owner));
        Assert.Equal(new TempFileOwner("my-host.1", 7, 255), owner);
    }

    [Fact]
    public async Task WriteAsync_Failing_DeletesTheTemporaryFileAtOnce()
    {
        // A write that throws (here cancelled; a full disk alike) leaves nothing behind, before the writer is disposed.
        var writer = await _store.OpenWriteAsync("obj");
        await writer.WriteAsync(new byte[1000]);
        Assert.Single(TempFiles());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await writer.WriteAsync(new byte[200_000], new CancellationToken(canceled: true)));

        Assert.Empty(TempFiles());
        var again = await Assert.ThrowsAsync<ObjectDisposedException>(async () => await writer.WriteAsync(new byte[1]));
        Assert.Contains("failed", again.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await writer.CompleteAsync());
        await writer.DisposeAsync();
        Assert.Null(await _store.HeadAsync("obj"));
    }

    [Fact]
    public async Task CompleteAsync_Failing_DeletesTheTemporaryFileAtOnce()
    {
        // The destination is a folder: the rename fails.
        await _store.PutAsync("taken/inside", new byte[1]);
        var writer = await _store.OpenWriteAsync("taken");
        await writer.WriteAsync(new byte[1000]);

        await Assert.ThrowsAsync<ObjectStoreException>(async () => await writer.CompleteAsync());

        Assert.Empty(TempFiles());
        await writer.DisposeAsync();
        Assert.Empty(TempFiles());
    }

    [Fact]
    public async Task CompleteAsync_Cancelled_DeletesTheTemporaryFileAtOnce()
    {
        var writer = await _store.OpenWriteAsync("obj");
        await writer.WriteAsync(new byte[1000]);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await writer.CompleteAsync(new CancellationToken(canceled: true)));

        Assert.Empty(TempFiles());
        await writer.DisposeAsync();
        Assert.Null(await _store.HeadAsync("obj"));
    }
}
