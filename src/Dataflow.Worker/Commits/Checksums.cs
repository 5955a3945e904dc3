using System.Globalization;
using System.IO.Hashing;

namespace Dataflow.Worker;

/// <summary>The checksums commit markers record: XXH3 (64-bit), written as <c>xxh3:&lt;16 hex digits&gt;</c>.</summary>
internal static class Checksums
{
    private const string Prefix = "xxh3:";

    public static string Format(XxHash3 hash) =>
        Prefix + hash.GetCurrentHashAsUInt64().ToString("x16", CultureInfo.InvariantCulture);

    public static bool IsSupported(string checksum) => checksum.StartsWith(Prefix, StringComparison.Ordinal);
}
