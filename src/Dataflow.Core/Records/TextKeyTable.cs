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
/// slots hold the full 64-bit hash, so a key is compared only on a hash match.
/// </summary>
internal sealed class TextKeyTable<TValue>
{
    private static readonly long s_seed = Random.Shared.NextInt64();

    // Open addressing with linear probing, at most half full: a lookup reads one slot (its key only on a hash match),
    // rather than a bucket and then an entry.
    private Slot[] _slots = new Slot[512];
    private int _count;

    /// <summary>The number of keys.</summary>
    public int Count => _count;

    /// <summary>The value of <paramref name="key"/>, added as <see langword="default"/> if it was not there (<paramref name="exists"/> false).</summary>
    public ref TValue GetValueRefOrAddDefault(ReadOnlySpan<char> key, out bool exists)
    {
        var hash = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(key), s_seed);
        var slots = _slots;
        var mask = slots.Length - 1;
        for (var i = (int)hash & mask; ; i = (i + 1) & mask)
        {
            ref var slot = ref slots[i];
            if (slot.Key is null)
            {
                break;
            }

            if (slot.Hash == hash && key.SequenceEqual(slot.Key))
            {
                exists = true;
                return ref slot.Value!;
            }
        }

        exists = false;
        if (++_count * 2 > slots.Length)
        {
            Grow();
        }

        return ref Insert(_slots, key.ToString(), hash);
    }

    /// <summary>Removes every key.</summary>
    public void Clear()
    {
        Array.Clear(_slots);
        _count = 0;
    }

    /// <summary>The keys and their values, in no particular order.</summary>
    public IEnumerable<KeyValuePair<string, TValue>> Entries()
    {
        foreach (var slot in _slots)
        {
            if (slot.Key is not null)
            {
                yield return new(slot.Key, slot.Value);
            }
        }
    }

    private static ref TValue Insert(Slot[] slots, string key, ulong hash)
    {
        var mask = slots.Length - 1;
        var i = (int)hash & mask;
        while (slots[i].Key is not null)
        {
            i = (i + 1) & mask;
        }

        ref var slot = ref slots[i];
        slot.Key = key;
        slot.Hash = hash;
        slot.Value = default!;
        return ref slot.Value;
    }

    private void Grow()
    {
        var larger = new Slot[_slots.Length * 2];
        foreach (var slot in _slots)
        {
            if (slot.Key is not null)
            {
                Insert(larger, slot.Key, slot.Hash) = slot.Value;
            }
        }

        _slots = larger;
    }

    [StructLayout(LayoutKind.Auto)]
    private struct Slot
    {
        public string? Key;
        public ulong Hash;
        public TValue Value;
    }
}
