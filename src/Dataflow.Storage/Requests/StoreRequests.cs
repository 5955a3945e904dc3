namespace Dataflow.Storage;

/// <summary>
/// The counter the stores of this library count their requests into: the current one of the calling flow (an
/// <see cref="AsyncLocal{T}"/>, so it follows the code that makes the request through awaits and into the tasks it
/// starts, such as a write stream's parallel part uploads). A task attempt sets its own (see <see cref="Begin"/>);
/// a run's driver sets one for everything it does outside attempts.
/// </summary>
public static class StoreRequests
{
    private static readonly AsyncLocal<StoreRequestCounts?> s_current = new();

    /// <summary>The counter requests made now count into; <see langword="null"/> when none is set (they are not counted).</summary>
    public static StoreRequestCounts? Current => s_current.Value;

    /// <summary>
    /// Makes <paramref name="counts"/> the current counter until the returned scope is disposed (the previous one is
    /// current again then). Tasks started inside the scope keep counting into it, even after it ended.
    /// </summary>
    public static Scope Begin(StoreRequestCounts counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var previous = s_current.Value;
        s_current.Value = counts;
        return new Scope(previous);
    }

    /// <summary>Counts one request of <paramref name="kind"/> into the current counter, if one is set.</summary>
    public static void Count(StoreRequestKind kind) => s_current.Value?.Count(kind);

    /// <summary>What <see cref="Begin"/> returns: disposing it makes the previous counter current again.</summary>
    public readonly struct Scope : IDisposable, IEquatable<Scope>
    {
        private readonly StoreRequestCounts? _previous;

        internal Scope(StoreRequestCounts? previous) => _previous = previous;

        /// <summary>Makes the previous counter current again.</summary>
        public void Dispose() => s_current.Value = _previous;

        /// <inheritdoc/>
        public bool Equals(Scope other) => ReferenceEquals(_previous, other._previous);

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is Scope other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode() => _previous?.GetHashCode() ?? 0;

        /// <summary>Equal when both restore the same counter.</summary>
        public static bool operator ==(Scope left, Scope right) => left.Equals(right);

        /// <summary>Not equal when they restore different counters.</summary>
        public static bool operator !=(Scope left, Scope right) => !left.Equals(right);
    }
}
