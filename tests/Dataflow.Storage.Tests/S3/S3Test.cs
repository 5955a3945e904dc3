using System.Diagnostics;
using System.Security.Cryptography;
using Amazon.S3.Model;

namespace Dataflow.Storage.Tests.S3;

/// <summary>Data and assertions the S3 tests share.</summary>
internal static class S3Test
{
    /// <summary>Guards awaits that only a bug could make hang (a gate never opened); not a timing assertion.</summary>
    public static readonly TimeSpan Hang = TimeSpan.FromSeconds(120);

    /// <summary>Deterministic pseudo-random bytes.</summary>
    public static byte[] Bytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>The ETag S3 gives a multipart object: the MD5 of the parts' MD5s, then "-" and the part count.</summary>
    public static string MultipartETag(byte[] content, IReadOnlyList<int> partSizes)
    {
        using var all = new MemoryStream();
        var offset = 0;
        foreach (var size in partSizes)
        {
#pragma warning disable CA5351 // S3's ETags are MD5 by definition.
            all.Write(MD5.HashData(content.AsSpan(offset, size)));
#pragma warning restore CA5351
            offset += size;
        }

        Assert.Equal(content.Length, offset);
#pragma warning disable CA5351
        return $"{Convert.ToHexStringLower(MD5.HashData(all.ToArray()))}-{partSizes.Count}";
#pragma warning restore CA5351
    }

    public static string Unquote(string? etag) => (etag ?? "").Trim('"');

    public static async Task<byte[]> ReadAllAsync(IObjectStore store, string key, long offset = 0, long? length = null, int bufferSize = 81_920)
    {
        var stream = await store.OpenReadAsync(key, offset, length);
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, bufferSize);
            return copy.ToArray();
        }
    }

    /// <summary>Writes <paramref name="content"/> in chunks of the sizes given, cycling through them.</summary>
    public static async Task WriteInChunksAsync(ObjectWriteStream writer, byte[] content, int[] chunkSizes, CancellationToken cancellationToken = default)
    {
        var offset = 0;
        for (var i = 0; offset < content.Length; i++)
        {
            var n = Math.Min(chunkSizes[i % chunkSizes.Length], content.Length - offset);
            await writer.WriteAsync(content.AsMemory(offset, n), cancellationToken);
            offset += n;
        }
    }

    /// <summary>The multipart uploads the server still has under <paramref name="keyPrefix"/> (store key prefix), as keys of the bucket.</summary>
    public static async Task<List<string>> ListUploadsAsync(S3ObjectStore store, string keyPrefix)
    {
        var response = await store.Client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = store.Bucket, Prefix = store.Full(keyPrefix) });
        return (response.MultipartUploads ?? []).Select(u => u.Key).ToList();
    }

    /// <summary>The journal entries of uploads (of keys outside runs).</summary>
    public static async Task<List<string>> JournalAsync(IObjectStore store, string journalPrefix = "_dataflow/uploads/") =>
        (await store.ListAllAsync(journalPrefix)).Select(i => i.Key).ToList();
}

/// <summary>s3cmd, another S3 client, pointed at the test server (path style, no TLS, its own credentials).</summary>
internal static class S3Cmd
{
    public static async Task<string> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("s3cmd")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var endpoint = S3TestServer.Endpoint.Authority;
        foreach (var argument in (string[])
                 [
                     "--config=/dev/null", $"--access_key={S3TestServer.AccessKey}", $"--secret_key={S3TestServer.SecretKey}",
                     $"--host={endpoint}", $"--host-bucket={endpoint}", "--no-ssl", "--region=us-east-1", "--no-progress",
                     .. arguments,
                 ])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start s3cmd");
        using var guard = new CancellationTokenSource(S3Test.Hang);
        var output = process.StandardOutput.ReadToEndAsync(guard.Token);
        var error = process.StandardError.ReadToEndAsync(guard.Token);
        await process.WaitForExitAsync(guard.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"s3cmd {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}");
        }

        return await output;
    }
}
