namespace Dataflow.Storage;

/// <summary>Options of the local folder store.</summary>
public sealed class LocalFolderStoreOptions
{
    /// <summary>
    /// Flush every completed object to the disk (fsync) before it becomes visible. Default <see langword="false"/>:
    /// writes are atomic either way (a crashed process leaves nothing half-written), and a power loss is the only
    /// case this adds protection for, at the price of a disk flush per object.
    /// </summary>
    public bool FlushToDisk { get; init; }

    /// <summary>Size of the buffers used to copy bytes in composes. Default 1 MiB.</summary>
    public int CopyBufferSize { get; init; } = 1 << 20;

    /// <summary>Throws when a value is out of range.</summary>
    public void Validate() => ArgumentOutOfRangeException.ThrowIfLessThan(CopyBufferSize, 4096);
}
