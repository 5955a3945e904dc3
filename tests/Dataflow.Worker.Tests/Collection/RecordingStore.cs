namespace Dataflow.Worker.Tests.Collection;

/// <summary>
/// Forwards everything to a real store (see <see cref="ForwardingObjectStore"/>) and records each <see cref="DeleteAsync"/> call (the keys it carried).
/// Delete calls can be made to fail, and a test can wait for a key's delete call without sleeping.
/// </summary>
internal sealed class RecordingStore(IObjectStore inner) : ForwardingObjectStore(inner)
{
    private readonly Lock _gate = new();
    private readonly List<string[]> _deleteCalls = [];
    private readonly HashSet<string> _handled = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);

    /// <summary>When set, a delete call is recorded and then throws what this returns for it (nothing when it returns null).</summary>
    public Func<int, IReadOnlyList<string>, Exception?>? FailDelete { get; set; }

    /// <summary>The keys of every delete call so far, in call order.</summary>
    public IReadOnlyList<string[]> DeleteCalls
    {
        get
        {
            lock (_gate)
            {
                return [.. _deleteCalls];
            }
        }
    }

    /// <summary>Every key that any delete call carried.</summary>
    public IReadOnlyList<string> DeleteRequests => [.. DeleteCalls.SelectMany(c => c)];

    /// <summary>Completes when a delete call that carried <paramref name="key"/> has returned or thrown (at once if one already has).</summary>
    public Task DeleteCallDoneAsync(string key)
    {
        lock (_gate)
        {
            if (_handled.Contains(key))
            {
                return Task.CompletedTask;
            }

            if (!_waiters.TryGetValue(key, out var waiter))
            {
                waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add(key, waiter);
            }

            // A guard against hanging the test run if the delete never comes; not a timing assertion.
            return waiter.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    public override async ValueTask<int> DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        // Copied: the caller may reuse its collection once the call returns.
        var batch = keys.ToArray();
        int call;
        lock (_gate)
        {
            _deleteCalls.Add(batch);
            call = _deleteCalls.Count;
        }

        try
        {
            if (FailDelete?.Invoke(call, batch) is { } failure)
            {
                throw failure;
            }

            return await base.DeleteAsync(batch, cancellationToken);
        }
        finally
        {
            List<TaskCompletionSource> ready = [];
            lock (_gate)
            {
                foreach (var key in batch)
                {
                    _handled.Add(key);
                    if (_waiters.Remove(key, out var waiter))
                    {
                        ready.Add(waiter);
                    }
                }
            }

            ready.ForEach(w => w.TrySetResult());
        }
    }
}
