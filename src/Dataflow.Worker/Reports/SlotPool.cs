namespace Dataflow.Worker;

/// <summary>
/// Numbers the worker slots of an executor, so that each attempt can say which slot (a timeline row) it ran on:
/// <see cref="Take"/> gives the lowest free slot. The caller limits concurrency itself (a semaphore, a scheduler's
/// width), so a free slot always exists when it calls <see cref="Take"/>.
/// </summary>
internal sealed class SlotPool
{
    private readonly Lock _gate = new();
    private readonly SortedSet<int> _free = [];
    private readonly Lazy<int> _firstRow;
    private int _next;

    /// <param name="firstRow">The timeline row of slot 0.</param>
    public SlotPool(int firstRow) => _firstRow = new Lazy<int>(firstRow);

    /// <param name="addRows">Adds the rows to the timeline when a slot is first asked for, and returns the row of slot 0.</param>
    public SlotPool(Func<int> addRows) => _firstRow = new Lazy<int>(addRows, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The timeline row of slot 0; slot <c>i</c> is row <c>FirstRow + i</c>.</summary>
    public int FirstRow => _firstRow.Value;

    /// <summary>Takes the lowest free slot and returns its timeline row.</summary>
    public int Take()
    {
        lock (_gate)
        {
            if (_free.Count == 0)
            {
                return FirstRow + _next++;
            }

            var slot = _free.Min;
            _free.Remove(slot);
            return FirstRow + slot;
        }
    }

    /// <summary>Gives back the slot of timeline row <paramref name="row"/>.</summary>
    public void Return(int row)
    {
        lock (_gate)
        {
            _free.Add(row - FirstRow);
        }
    }
}
