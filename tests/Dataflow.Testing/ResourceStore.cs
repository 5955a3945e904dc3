using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Dataflow.Testing;

/// <summary>
/// The fake's etcd: every object under one lock, one global resourceVersion counter bumped by every change, and
/// watch events handed to watchers in that same order (they are written while the lock is held).
/// </summary>
internal sealed class ResourceStore
{
    // Enough for any test; a watch from an older resourceVersion gets 410 Gone as from a compacted etcd. Bounded in
    // characters too, since a large Workflow's every status change is an event carrying the whole object.
    private const int HistoryLimit = 100_000;
    private const long HistoryCharacterLimit = 32L << 20;

    private readonly Lock _gate = new();
    private readonly Dictionary<(ResourceKind Kind, string Namespace, string Name), JsonObject> _objects = [];
    private readonly List<StoredEvent> _history = [];
    private readonly List<Watcher> _watchers = [];
    private long _resourceVersion;
    private long _historyCharacters;
    private bool _closed;

    public JsonObject? Get(ResourceKind kind, string ns, string name)
    {
        lock (_gate)
        {
            return _objects.TryGetValue((kind, ns, name), out var obj) ? (JsonObject)obj.DeepClone() : null;
        }
    }

    public bool Exists(ResourceKind kind, string ns, string name)
    {
        lock (_gate)
        {
            return _objects.ContainsKey((kind, ns, name));
        }
    }

    public (List<JsonObject> Items, string ResourceVersion) List(ResourceKind kind, string ns, Func<JsonObject, bool> match)
    {
        lock (_gate)
        {
            var items = _objects
                .Where(p => p.Key.Kind == kind && p.Key.Namespace == ns && match(p.Value))
                .OrderBy(p => p.Key.Name, StringComparer.Ordinal)
                .Select(p => (JsonObject)p.Value.DeepClone())
                .ToList();
            return (items, _resourceVersion.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Stores a new object (metadata filled in) and returns a copy; false when the name is taken.</summary>
    public bool TryCreate(ResourceKind kind, string ns, JsonObject obj, out JsonObject created)
    {
        var metadata = Json.Obj(obj, "metadata");
        var name = Json.Str(metadata["name"]) ?? throw new InvalidOperationException("The object has no name.");
        lock (_gate)
        {
            if (_objects.ContainsKey((kind, ns, name)))
            {
                created = obj;
                return false;
            }

            obj["apiVersion"] = kind.ApiVersion;
            obj["kind"] = kind.Kind;
            metadata["namespace"] = ns;
            metadata["uid"] = Guid.NewGuid().ToString();
            metadata["creationTimestamp"] = Json.Now();
            metadata["generation"] = 1;
            Stamp(obj);
            _objects[(kind, ns, name)] = obj;
            Publish("ADDED", kind, ns, obj);
            created = (JsonObject)obj.DeepClone();
            return true;
        }
    }

    /// <summary>Changes an object in place and tells the watchers; null when it no longer exists.</summary>
    public JsonObject? Update(ResourceKind kind, string ns, string name, Action<JsonObject> mutate)
    {
        lock (_gate)
        {
            if (!_objects.TryGetValue((kind, ns, name), out var obj))
            {
                return null;
            }

            mutate(obj);
            Stamp(obj);
            Publish("MODIFIED", kind, ns, obj);
            return (JsonObject)obj.DeepClone();
        }
    }

    public JsonObject? Delete(ResourceKind kind, string ns, string name)
    {
        lock (_gate)
        {
            if (!_objects.Remove((kind, ns, name), out var obj))
            {
                return null;
            }

            Stamp(obj);
            Publish("DELETED", kind, ns, obj);
            return obj;
        }
    }

    /// <summary>
    /// Starts a watch. With no <paramref name="since"/> every matching object comes first as ADDED; with one, the
    /// events after it are replayed. Registration and the replay happen under the lock, so no event is lost between.
    /// </summary>
    public Watcher Watch(ResourceKind kind, string ns, Func<JsonObject, bool> match, long? since)
    {
        lock (_gate)
        {
            var watcher = new Watcher(this, kind, ns, match);
            if (_closed)
            {
                watcher.Close();
                return watcher;
            }

            if (since is null)
            {
                foreach (var ((k, n, _), obj) in _objects.OrderBy(p => p.Key.Name, StringComparer.Ordinal))
                {
                    if (k == kind && n == ns && match(obj))
                    {
                        watcher.Offer(EventLine("ADDED", obj));
                    }
                }
            }
            else
            {
                if (since < _resourceVersion && (_history.Count == 0 || _history[0].ResourceVersion > since + 1))
                {
                    throw new ApiStatusException(410, "Expired", $"too old resource version: {since} ({_resourceVersion})");
                }

                foreach (var e in _history)
                {
                    if (e.ResourceVersion > since && e.Kind == kind && e.Namespace == ns && match(e.Object))
                    {
                        watcher.Offer(e.Line);
                    }
                }
            }

            _watchers.Add(watcher);
            return watcher;
        }
    }

    /// <summary>Ends every watch (the server is stopping).</summary>
    public void CloseWatchers()
    {
        lock (_gate)
        {
            _closed = true;
            foreach (var w in _watchers)
            {
                w.Close();
            }

            _watchers.Clear();
        }
    }

    internal void Remove(Watcher watcher)
    {
        lock (_gate)
        {
            _watchers.Remove(watcher);
        }
    }

    private void Stamp(JsonObject obj)
    {
        _resourceVersion++;
        Json.Obj(obj, "metadata")["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture);
    }

    private void Publish(string type, ResourceKind kind, string ns, JsonObject obj)
    {
        // Selectors only read metadata, so that is all the history keeps of the object besides the event's text.
        var snapshot = new JsonObject { ["metadata"] = obj["metadata"]?.DeepClone() };
        var line = EventLine(type, obj);
        _history.Add(new StoredEvent(_resourceVersion, kind, ns, snapshot, line));
        _historyCharacters += line.Length;
        var drop = 0;
        while (drop < _history.Count - 1
            && (_history.Count - drop > HistoryLimit || _historyCharacters > HistoryCharacterLimit))
        {
            _historyCharacters -= _history[drop].Line.Length;
            drop++;
        }

        _history.RemoveRange(0, drop);

        foreach (var w in _watchers)
        {
            if (w.Kind == kind && w.Namespace == ns && w.Match(snapshot))
            {
                w.Offer(line);
            }
        }
    }

    private static string EventLine(string type, JsonObject obj) =>
        $"{{\"type\":\"{type}\",\"object\":{Json.Write(obj)}}}";

    private sealed record StoredEvent(long ResourceVersion, ResourceKind Kind, string Namespace, JsonObject Object, string Line);
}

/// <summary>One open watch: the event lines waiting to be written to its HTTP response.</summary>
internal sealed class Watcher : IDisposable
{
    // A watcher that falls this far behind is closed, as the real API server drops slow watchers; the client
    // re-watches from its last resourceVersion. Bounded so that a stuck client cannot grow the server's memory.
    private const int Capacity = 10_000;

    private readonly ResourceStore _store;
    private readonly Channel<string> _events = Channel.CreateBounded<string>(Capacity);

    public Watcher(ResourceStore store, ResourceKind kind, string ns, Func<JsonObject, bool> match)
    {
        _store = store;
        Kind = kind;
        Namespace = ns;
        Match = match;
    }

    public ResourceKind Kind { get; }

    public string Namespace { get; }

    public Func<JsonObject, bool> Match { get; }

    public ChannelReader<string> Events => _events.Reader;

    public void Offer(string line)
    {
        if (!_events.Writer.TryWrite(line))
        {
            _events.Writer.TryComplete();
        }
    }

    public void Close() => _events.Writer.TryComplete();

    public void Dispose()
    {
        Close();
        _store.Remove(this);
    }
}
