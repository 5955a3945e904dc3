using System.IO.Enumeration;

namespace Dataflow.Storage;

/// <summary>Listing a folder: only the entries a prefix asks for are described.</summary>
internal sealed partial class LocalFolderStore
{
    // As DirectoryInfo.GetFileSystemInfos enumerates: every entry, hidden ones included, errors not ignored.
    private static readonly EnumerationOptions s_entries = new()
    {
        AttributesToSkip = 0,
        IgnoreInaccessible = false,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
    };

    /// <summary>
    /// The entries of <paramref name="folder"/> whose names start with <paramref name="namePrefix"/>. Names are
    /// compared before an entry is described (a stat each), so that listing one task's commit records in a folder
    /// of thousands of them (what a worker process does for every task) costs a stat per match, not per entry.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    private static FileSystemInfo[] EntriesNamed(string folder, string namePrefix) =>
    [
        .. new FileSystemEnumerable<FileSystemInfo>(folder, static (ref FileSystemEntry entry) => entry.ToFileSystemInfo(), s_entries)
        {
            ShouldIncludePredicate = (ref FileSystemEntry entry) => entry.FileName.StartsWith(namePrefix, StringComparison.Ordinal),
        },
    ];
}
