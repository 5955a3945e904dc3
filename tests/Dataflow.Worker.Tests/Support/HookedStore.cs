namespace Dataflow.Worker.Tests.Support;

/// <summary>Forwards to a real store, but lets a test act (e.g. play another driver) just before each read of an object.</summary>
internal sealed class HookedStore(IObjectStore inner, Func<string, ValueTask> beforeRead) : ForwardingObjectStore(inner)
{
    public override async ValueTask<Stream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        await beforeRead(key);
        return await base.OpenReadAsync(key, offset, length, cancellationToken);
    }
}
