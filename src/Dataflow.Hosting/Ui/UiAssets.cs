using System.Collections.Frozen;
using System.IO.Hashing;

namespace Dataflow.Hosting;

/// <summary>The UI's pages, scripts and styles, embedded in this assembly (<c>Ui/Assets/</c>): nothing is fetched from elsewhere.</summary>
internal static class UiAssets
{
    private static readonly FrozenDictionary<string, Asset> s_assets = Load();

    /// <summary>The asset named <paramref name="name"/> (a file name in <c>Ui/Assets/</c>), or <see langword="null"/>.</summary>
    public static Asset? Find(string name) => s_assets.GetValueOrDefault(name);

    /// <summary>Every asset's name.</summary>
    public static IEnumerable<string> Names => s_assets.Keys;

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(UiAssets).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("ui/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            var name = resource["ui/".Length..];
            assets[name] = new Asset(content, ContentType(name), $"\"{Convert.ToHexStringLower(XxHash3.Hash(content))}\"");
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };

    /// <summary>One asset.</summary>
    /// <param name="Content">Its bytes.</param>
    /// <param name="ContentType">Its media type.</param>
    /// <param name="ETag">A strong entity tag of its bytes.</param>
    internal sealed record Asset(byte[] Content, string ContentType, string ETag);
}
