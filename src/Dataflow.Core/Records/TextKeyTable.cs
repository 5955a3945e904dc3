using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Dataflow.Core;

/// <summary>
/// A map task's combining table for text keys: a value per key, found by a <see cref="ReadOnlySpan{T}"/> of the key
/// (a string is made only for a key not seen before). It does what a <see cref="Dictionary{TKey, TValue}"/> with an
/// alternate lookup does, but generic over the value alone: in a task whose keys are strings the dictionary runs
/// shared generic code, which reaches its comparer through a runtime lookup and an interface cast on every word, and
/// that was a third of word count's map time. Keys are hashed with XXH3 — several times faster than the default
/// randomized hash on short keys — from a seed random per process, so that crafted keys cannot be made to collide;
/// chains hold the full 64-bit hash, so a key is compared only on a hash match.
/// </summary>
internal sealed class TextKeyTable<TValue>
{
    private static readonly long s_seed = Random.Shared.NextInt64();

    private int[] _buckets = new int[256];
    private Entry[] _entries = new Entry[256];
    private int _count;

    /// <summary>The number of keys.</summary>
    public int Count => _count;

    /// <summary>The value of <paramref name="key"/>, added as <see langword="default"/> if it was not there (<paramref name="exists"/> false).</summary>
    public ref TValue GetValueRefOrAddDefault(ReadOnlySpan<char> key, out bool exists)
    {
        var hash = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(key), s_seed);
        var entries = _entries;
        for (var i = _buckets[(int)hash & (_buckets.Length - 1)] - 1; i >= 0;)
        {
            ref var entry = ref entries[i];
            if (entry.Hash == hash && key.SequenceEqual(entry.Key))
            {
                exists = true;
                return ref entry.Value!;
            }

            i = entry.Next;
        }

        exists = false;
        return ref Add(key.ToString(), hash);
    }

    /// <summary>Removes every key.</summary>
    public void Clear()
    {
        Array.Clear(_buckets);
        Array.Clear(_entries, 0, _count);
        _count = 0;
    }

    /// <summary>The keys and their values, in no particular order.</summary>
    public IEnumerable<KeyValuePair<string, TValue>> Entries()
    {
        for (var i = 0; i < _count; i++)
        {
            yield return new(_entries[i].Key, _entries[i].Value);
        }
    }

    private ref TValue Add(string key, ulong hash)
    {
        if (_count == _entries.Length)
        {
            Grow();
        }

        var index = _count++;
        ref var bucket = ref _buckets[(int)hash & (_buckets.Length - 1)];
        ref var entry = ref _entries[index];
        entry.Key = key;
        entry.Hash = hash;
        entry.Next = bucket - 1;
        entry.Value = default!;
        bucket = index + 1;
        return ref entry.Value;
    }

    private void Grow()
    {
        // Twice the entries and the buckets (a power of two, at most one key per bucket on average).
        Array.Resize(ref _entries, _entries.Length * 2);
        _buckets = new int[_entries.Length];
        for (var i = 0; i < _count; i++)
        {
            ref var bucket = ref _buckets[(int)_entries[i].Hash & (_buckets.Length - 1)];
            _entries[i].Next = bucket - 1;
            bucket = i + 1;
        }
    }

    [StructLayout(LayoutKind.Auto)]
    private struct Entry
    {
        public string Key;
        public ulong Hash;
        public int Next;
        public TValue Value;
    }
}
