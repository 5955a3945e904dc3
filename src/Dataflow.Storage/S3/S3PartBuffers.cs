using System.Buffers;

namespace Dataflow.Storage;

/// <summary>
/// The part buffers of a store's multipart uploads. Arrays of the part size are handed out from, and returned to, a
/// free list of the store's own that keeps as many as one upload may hold (<see cref="S3PartBuffers.PerUpload"/>), so
/// that the next upload reuses the same memory. (The shared <see cref="ArrayPool{T}"/> keeps a returned array in the
/// returning thread's slot, where the writer's thread does not look: an upload then allocated new parts while the
/// last upload's parts sat in the pool, and the process held both.) The small arrays of a first part still growing
/// come from the shared pool; larger ones, of parts doubled past 500, are allocated and dropped.
/// </summary>
internal sealed class S3PartBuffers
{
    /// <summary>Arrays up to this length come from, and go back to, the shared pool (a power of two, so that its arrays stay this short).</summary>
    private const int SmallLength = 512 * 1024;

    private readonly Stack<byte[]> _free = new();
    private readonly Lock _lock = new();
    private readonly int _keep;
    private int _rented;
    private int _peak;
    private int _allocated;

    public S3PartBuffers(S3StoreOptions options)
    {
        Size = (int)options.PartSize;
        _keep = PerUpload(options);
    }

    /// <summary>The length of the arrays kept: the configured part size.</summary>
    public int Size { get; }

    /// <summary>Part-size arrays handed out and not yet returned.</summary>
    public int Rented
    {
        get
        {
            lock (_lock)
            {
                return _rented;
            }
        }
    }

    /// <summary>The most part-size arrays out at once since the store opened.</summary>
    public int Peak
    {
        get
        {
            lock (_lock)
            {
                return _peak;
            }
        }
    }

    /// <summary>Part-size arrays allocated since the store opened (the rest were reused).</summary>
    public int Allocated
    {
        get
        {
            lock (_lock)
            {
                return _allocated;
            }
        }
    }

    /// <summary>
    /// The part buffers one upload holds at most, the one being written included: <see cref="S3StoreOptions.MaxUploadMemory"/>
    /// in parts, at least two (one being sent while the next is written) and at most one more than
    /// <see cref="S3StoreOptions.MaxConcurrentParts"/>.
    /// </summary>
    public static int PerUpload(S3StoreOptions options) =>
        (int)Math.Clamp(options.MaxUploadMemory / options.PartSize, 2, options.MaxConcurrentParts + 1L);

    /// <summary>
    /// An array of at least <paramref name="length"/> bytes. A first part growing past <see cref="SmallLength"/> takes
    /// an idle part buffer when there is one (its memory is held anyway), else an array of its own that is dropped once
    /// it has grown out of it: a large write's first part takes no more of the shared pool than small ones do.
    /// </summary>
    public byte[] Rent(int length)
    {
        if (length <= SmallLength)
        {
            return ArrayPool<byte>.Shared.Rent(length);
        }

        lock (_lock)
        {
            if (length <= Size && _free.TryPop(out var free))
            {
                _peak = Math.Max(_peak, ++_rented);
                return free;
            }

            if (length >= Size)
            {
                _peak = Math.Max(_peak, ++_rented);
                _allocated++;
            }
        }

        return GC.AllocateUninitializedArray<byte>(length);
    }

    /// <summary>Gives back an array from <see cref="Rent"/>.</summary>
    public void Return(byte[] buffer)
    {
        if (buffer.Length <= SmallLength)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return;
        }

        if (buffer.Length < Size)
        {
            // A growing first part's own array: the garbage collector's.
            return;
        }

        lock (_lock)
        {
            _rented--;
            if (buffer.Length == Size && _free.Count < _keep)
            {
                _free.Push(buffer);
            }
        }
    }
}
