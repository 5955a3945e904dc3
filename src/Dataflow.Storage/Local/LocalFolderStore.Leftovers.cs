namespace Dataflow.Storage;

/// <summary>
/// The folder store's temporary files: each is named after the process that writes it (<see cref="TempFileOwner"/>),
/// deleted by that process as soon as its write fails or is abandoned, and by <see cref="RemoveLeftoversAsync"/>
/// once that process no longer runs (it was killed, or the machine went down).
/// </summary>
internal sealed partial class LocalFolderStore
{
    /// <summary>
    /// How old (since its last write) a temporary file must be to be deleted when no one here can tell whether its
    /// writer still runs: a file that names no owner (the naming before owners were recorded), or a writer on another
    /// machine sharing the folder.
    /// </summary>
    internal static readonly TimeSpan UnownedLeftoverAge = TimeSpan.FromDays(1);

    /// <summary>
    /// Deletes the temporary files (directly in <c>.dataflow-tmp/</c>) of writers that no longer run: those whose
    /// owner is a process of this machine that has exited (or whose id a later process now has), and those whose
    /// owner cannot be checked from here (another machine, or no owner in the name) that were last written more
    /// than <see cref="UnownedLeftoverAge"/> ago. Files of live writers, and folders, are left alone.
    /// </summary>
    public Task<StoreLeftovers> RemoveLeftoversAsync(CancellationToken cancellationToken = default)
    {
        FileInfo[] files;
        try
        {
            files = new DirectoryInfo(_tempFolder).GetFiles();
        }
        catch (DirectoryNotFoundException)
        {
            return Task.FromResult(StoreLeftovers.None);
        }

        var deleted = 0;
        var bytes = 0L;
        var now = DateTime.UtcNow;
        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var running = TempFileOwner.TryParse(file.Name, out var owner) ? owner.IsRunning() : null;
            if (running == true || (running is null && now - file.LastWriteTimeUtc < UnownedLeftoverAge))
            {
                continue;
            }

            try
            {
                var length = file.Length;
                file.Delete();
                deleted++;
                bytes += length;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to delete: housekeeping goes on with the others.
            }
        }

        return Task.FromResult(new StoreLeftovers(deleted, bytes));
    }

    /// <summary>A new temporary file for an object being written, named after this process.</summary>
    internal FileStream CreateTempFile(out string path)
    {
        var file = path = Path.Combine(_tempFolder, TempFileOwner.Current.NewFileName());
        FileStream Create() => new(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 64 * 1024, FileOptions.Asynchronous);
        try
        {
            return Create();
        }
        catch (IOException ex) when (ex is DirectoryNotFoundException or FileNotFoundException)
        {
            // The first write of the store (or the folder was removed): made here rather than tried before every file.
            // open(2) said ENOENT, which .NET reports as a folder not found — or, when another writer made the folder
            // in between, as this file not found.
            Directory.CreateDirectory(_tempFolder);
            return Create();
        }
    }
}
