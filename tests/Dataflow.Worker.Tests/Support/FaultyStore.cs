namespace Dataflow.Worker.Tests.Support;

/// <summary>Forwards to a real store, but fails writes of keys the test chooses.</summary>
internal sealed class FaultyStore(IObjectStore inner, Func<string, bool> failWrite) : ForwardingObjectStore(inner)
{
    public override ValueTask<ObjectWriteStream> OpenWriteAsync(string key, CancellationToken cancellationToken = default) =>
        failWrite(key) ? throw new IOException($"injected write failure of '{key}'") : base.OpenWriteAsync(key, cancellationToken);

    public override ValueTask<ObjectInfo> ComposeAsync(string destinationKey, IReadOnlyList<ObjectSegment> sources, CancellationToken cancellationToken = default) =>
        failWrite(destinationKey) ? throw new IOException($"injected write failure of '{destinationKey}'") : base.ComposeAsync(destinationKey, sources, cancellationToken);
}
