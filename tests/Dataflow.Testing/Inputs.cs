using System.Globalization;
using System.Text;

namespace Dataflow.Testing;

/// <summary>Job inputs written to a store.</summary>
public static class Inputs
{
    /// <summary>Writes <paramref name="count"/> objects under <paramref name="prefix"/> (key order = index order); returns their concatenation.</summary>
    public static async Task<byte[]> WriteAsync(IObjectStore store, int count, int size = 1, string prefix = "input/")
    {
        var all = new List<byte>();
        for (var i = 0; i < count; i++)
        {
            var content = new byte[size];
            for (var b = 0; b < size; b++)
            {
                content[b] = (byte)('A' + ((i * 7 + b) % 26));
            }

            await store.PutAsync(prefix + i.ToString("D5", CultureInfo.InvariantCulture) + ".txt", content);
            all.AddRange(content);
        }

        return [.. all];
    }

    public static string Text(byte[] bytes) => Encoding.ASCII.GetString(bytes);
}
