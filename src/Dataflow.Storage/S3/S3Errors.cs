using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using Polly;
using Polly.Retry;

namespace Dataflow.Storage;

/// <summary>
/// Which S3 failures are worth retrying, the retry policy of every request, and the translation of SDK errors into
/// the store's exceptions (which name the bucket and key, and never carry credentials).
/// </summary>
/// <remarks>
/// Retries are layered on purpose: the SDK's own retries are off (<c>MaxErrorRetry = 0</c>); this policy retries a
/// request a few times with back-off (default 4 attempts over about 1.5 s); the task runner above retries a whole
/// task (default 3 attempts). A dead endpoint fails a task in seconds, not minutes.
/// </remarks>
internal static class S3Errors
{
    private static readonly HashSet<string> s_transientCodes = new(StringComparer.OrdinalIgnoreCase)
    {
        "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed", "InternalError",
        "ServiceUnavailable", "RequestLimitExceeded", "TooManyRequests", "BadDigest", "IncompleteBody",
    };

    /// <summary>What a request is for and on which key, as its retries log it.</summary>
    public static readonly ResiliencePropertyKey<(string Action, string? Key)> Request = new("dataflow.s3.request");

    /// <summary>
    /// The retry policy of every request; <paramref name="retried"/> is called before each retry with the request (see
    /// <see cref="Request"/>), the attempt that failed (1 for the first) and its failure.
    /// </summary>
    public static ResiliencePipeline CreatePipeline(S3StoreOptions options, Action<(string Action, string? Key), int, Exception?> retried)
    {
        var builder = new ResiliencePipelineBuilder();
        if (options.MaxRequestAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRequestAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryDelay,
                MaxDelay = TimeSpan.FromSeconds(10),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && IsTransient(ex, args.Context.CancellationToken)),
                OnRetry = args =>
                {
                    var request = args.Context.Properties.TryGetValue(Request, out var r) ? r : ("make a request", null);
                    retried(request, args.AttemptNumber + 1, args.Outcome.Exception);
                    return ValueTask.CompletedTask;
                },
            });
        }

        return builder.Build();
    }

    /// <summary>Why a request failed, in one line for a log: the service's code and status, or the exception's message.</summary>
    public static string Describe(Exception? exception, Func<string, string> scrub) => exception switch
    {
        null => "no answer",
        AmazonServiceException service => scrub($"{(int)service.StatusCode} {service.ErrorCode ?? service.StatusCode.ToString()}: {service.Message}"),
        _ => scrub($"{exception.GetType().Name}: {exception.Message}"),
    };

    /// <summary>True for failures that another attempt may not meet: server errors, throttling, resets and timeouts.</summary>
    public static bool IsTransient(Exception exception, CancellationToken callerToken)
    {
        if (callerToken.IsCancellationRequested)
        {
            return false;
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                // The store's own verdicts (a range past the end, another version) are not a server's passing trouble.
                case ObjectStoreException:
                    return false;
                case AmazonServiceException service when service.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden
                                                         or HttpStatusCode.Unauthorized or HttpStatusCode.BadRequest
                                                         && !s_transientCodes.Contains(service.ErrorCode ?? string.Empty):
                    return false;
                // 501: the server does not implement what was asked (e.g. Swift and server-side encryption); asking again will not help.
                case AmazonServiceException { StatusCode: HttpStatusCode.NotImplemented }:
                    return false;
                case AmazonServiceException service when (int)service.StatusCode >= 500 || (int)service.StatusCode == 429
                                                         || s_transientCodes.Contains(service.ErrorCode ?? string.Empty):
                    return true;
                case HttpRequestException or SocketException or IOException or TimeoutException:
                    return true;

                // A timeout of the HTTP client (the caller did not cancel).
                case OperationCanceledException:
                    return true;
            }
        }

        return false;
    }

    /// <summary>The store's exception for a failed request about <paramref name="key"/> (or the bucket, when <see langword="null"/>).</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="location">The store's address.</param>
    /// <param name="bucket">The bucket.</param>
    /// <param name="key">The object concerned, if any.</param>
    /// <param name="action">What was being done, e.g. "read the object".</param>
    /// <param name="scrub">Removes credentials from text that came from the server or the SDK.</param>
    public static Exception Translate(Exception exception, string location, string bucket, string? key, string action, Func<string, string>? scrub = null)
    {
        scrub ??= text => text;
        if (exception is ObjectStoreException or OperationCanceledException or ArgumentException)
        {
            return exception;
        }

        if (exception is AmazonS3Exception s3)
        {
            var code = s3.ErrorCode ?? string.Empty;
            if (code == "NoSuchKey" || (s3.StatusCode == HttpStatusCode.NotFound && key is not null && code != "NoSuchBucket" && code != "NoSuchUpload"))
            {
                return new ObjectNotFoundException(location, key!, exception);
            }

            if (code == "NoSuchBucket" || (s3.StatusCode == HttpStatusCode.NotFound && key is null))
            {
                return new ObjectStoreException(location, key, $"cannot {action}: the bucket '{bucket}' does not exist", exception);
            }

            if (s3.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized || code is "AccessDenied" or "SignatureDoesNotMatch" or "InvalidAccessKeyId")
            {
                return new ObjectStoreException(location, key, $"cannot {action}: access denied by the server ({code}); check the credentials and the bucket's policy", exception);
            }

            if (code is "InvalidRange")
            {
                return new ObjectStoreException(location, key, "the requested range lies beyond the end of the object", exception);
            }

            return new ObjectStoreException(location, key, $"cannot {action}: the server answered {(int)s3.StatusCode} {code}: {scrub(s3.Message)}", exception);
        }

        if (exception is AmazonClientException client && client.Message.Contains("credential", StringComparison.OrdinalIgnoreCase))
        {
            return new ObjectStoreException(location, key, $"cannot {action}: no credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, or web identity)", exception);
        }

        return new ObjectStoreException(location, key, $"cannot {action}: {scrub(exception.Message)}", exception);
    }
}
