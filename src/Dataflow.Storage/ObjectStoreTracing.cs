using System.Diagnostics;
using System.Reflection;

namespace Dataflow.Storage;

/// <summary>
/// The spans of storage calls, through <see cref="System.Diagnostics.ActivitySource"/> named <see cref="SourceName"/>:
/// one per call of an <see cref="IObjectStore"/> method of the stores in this library (<c>store.list</c>,
/// <c>store.head</c>, <c>store.open_read</c>, <c>store.open_write</c>, <c>store.delete</c>, <c>store.compose</c>,
/// <c>store.move</c>), tagged with the store's kind and the object key (or prefix). They are children of the current
/// span — a task's, when a task calls. A span covers the call, not the reading or writing of the stream it returns.
/// </summary>
public static class ObjectStoreTracing
{
    /// <summary>The name of the activity source.</summary>
    public const string SourceName = "Dataflow.Storage";

    /// <summary>The tag of the object key (or listing prefix).</summary>
    public const string KeyTag = "dataflow.object.key";

    /// <summary>The tag of the store's kind (<c>folder</c> or <c>s3</c>).</summary>
    public const string StoreTag = "dataflow.store";

    private static readonly ActivitySource s_source = new(
        SourceName,
        typeof(ObjectStoreTracing).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);

    /// <summary>Starts the span of a storage call; <see langword="null"/> when nothing listens.</summary>
    internal static Activity? Start(string operation, string store, string key)
    {
        if (!s_source.HasListeners())
        {
            return null;
        }

        var activity = s_source.StartActivity("store." + operation, ActivityKind.Client);
        activity?.SetTag(StoreTag, store);
        activity?.SetTag(KeyTag, key);
        return activity;
    }

    /// <summary>Starts the span of a call on several objects (a delete, a compose), tagged with their count.</summary>
    internal static Activity? Start(string operation, string store, string key, int objects)
    {
        var activity = Start(operation, store, key);
        activity?.SetTag("dataflow.objects", objects);
        return activity;
    }
}
