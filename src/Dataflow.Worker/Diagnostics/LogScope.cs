namespace Dataflow.Worker;

/// <summary>
/// A logging scope of two named values (a run's id and job, a task's stage and id), as structured properties that
/// every logger provider can read, and as text.
/// </summary>
internal sealed class LogScope(string name1, object? value1, string name2, object? value2) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 2;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new(name1, value1),
        1 => new(name2, value2),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
        yield return this[1];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"{name1} {value1}, {name2} {value2}";
}
