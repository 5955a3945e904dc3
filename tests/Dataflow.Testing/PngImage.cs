using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Dataflow.Testing;

/// <summary>
/// A PNG read back for assertions on screenshots: its size and its pixels. Reads what browsers write (8-bit RGB or
/// RGBA, not interlaced) and nothing else.
/// </summary>
public sealed class PngImage
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly byte[] _rgba;

    private PngImage(int width, int height, byte[] rgba)
    {
        Width = width;
        Height = height;
        _rgba = rgba;
    }

    /// <summary>The image's width in pixels.</summary>
    public int Width { get; }

    /// <summary>The image's height in pixels.</summary>
    public int Height { get; }

    /// <summary>The colour at (<paramref name="x"/>, <paramref name="y"/>) as <c>0xRRGGBB</c> (alpha dropped).</summary>
    public int Pixel(int x, int y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(x);
        ArgumentOutOfRangeException.ThrowIfNegative(y);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(x, Width);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(y, Height);
        var i = ((y * Width) + x) * 4;
        return (_rgba[i] << 16) | (_rgba[i + 1] << 8) | _rgba[i + 2];
    }

    /// <summary>How many pixels have each colour (<c>0xRRGGBB</c>).</summary>
    public Dictionary<int, int> Histogram()
    {
        var counts = new Dictionary<int, int>();
        for (var i = 0; i < _rgba.Length; i += 4)
        {
            var colour = (_rgba[i] << 16) | (_rgba[i + 1] << 8) | _rgba[i + 2];
            counts[colour] = counts.GetValueOrDefault(colour) + 1;
        }

        return counts;
    }

    /// <summary>The width and height in a PNG's header, without decoding it.</summary>
    /// <exception cref="InvalidDataException">The file is not a PNG.</exception>
    public static (int Width, int Height) ReadSize(string path)
    {
        Span<byte> head = stackalloc byte[24];
        using (var file = File.OpenRead(path))
        {
            file.ReadExactly(head);
        }

        CheckHeader(head, path);
        return (BinaryPrimitives.ReadInt32BigEndian(head[16..]), BinaryPrimitives.ReadInt32BigEndian(head[20..]));
    }

    /// <summary>Decodes the PNG at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a PNG, or one of a kind this reader does not decode.</exception>
    public static PngImage Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 24)
        {
            throw new InvalidDataException($"{path} is too short to be a PNG");
        }

        CheckHeader(bytes, path);
        var width = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16));
        var height = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20));
        int bitDepth = bytes[24], colourType = bytes[25], interlace = bytes[28];
        if (bitDepth != 8 || colourType is not (2 or 6) || interlace != 0)
        {
            throw new InvalidDataException($"{path}: only 8-bit, non-interlaced RGB or RGBA PNGs are read (bit depth {bitDepth}, colour type {colourType}, interlace {interlace})");
        }

        using var compressed = new MemoryStream();
        for (var at = 8; at + 8 <= bytes.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(at));
            var type = Encoding.ASCII.GetString(bytes, at + 4, 4);
            if (type == "IDAT")
            {
                compressed.Write(bytes, at + 8, length);
            }

            at += 12 + length;
        }

        compressed.Position = 0;
        var channels = colourType == 6 ? 4 : 3;
        var stride = width * channels;
        var raw = new byte[(stride + 1) * height];
        using (var inflate = new ZLibStream(compressed, CompressionMode.Decompress))
        {
            inflate.ReadExactly(raw);
        }

        var rgba = new byte[width * height * 4];
        var previous = new byte[stride];
        var line = new byte[stride];
        for (var y = 0; y < height; y++)
        {
            var filter = raw[y * (stride + 1)];
            Array.Copy(raw, (y * (stride + 1)) + 1, line, 0, stride);
            Unfilter(filter, line, previous, channels, path);
            for (var x = 0; x < width; x++)
            {
                var o = ((y * width) + x) * 4;
                rgba[o] = line[x * channels];
                rgba[o + 1] = line[(x * channels) + 1];
                rgba[o + 2] = line[(x * channels) + 2];
                rgba[o + 3] = channels == 4 ? line[(x * channels) + 3] : (byte)255;
            }

            (previous, line) = (line, previous);
        }

        return new PngImage(width, height, rgba);
    }

    private static void CheckHeader(ReadOnlySpan<byte> head, string path)
    {
        if (!head[..8].SequenceEqual(Signature) || !head[12..16].SequenceEqual("IHDR"u8))
        {
            throw new InvalidDataException($"{path} is not a PNG (no PNG signature and IHDR chunk)");
        }
    }

    private static void Unfilter(byte filter, byte[] line, byte[] previous, int bpp, string path)
    {
        for (var i = 0; i < line.Length; i++)
        {
            int left = i >= bpp ? line[i - bpp] : 0, up = previous[i], upLeft = i >= bpp ? previous[i - bpp] : 0;
            line[i] += filter switch
            {
                0 => 0,
                1 => (byte)left,
                2 => (byte)up,
                3 => (byte)((left + up) / 2),
                4 => (byte)Paeth(left, up, upLeft),
                _ => throw new InvalidDataException($"{path}: unknown PNG filter {filter}"),
            };
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
