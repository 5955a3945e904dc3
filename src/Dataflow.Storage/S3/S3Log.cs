using Microsoft.Extensions.Logging;

namespace Dataflow.Storage;

/// <summary>What an S3 store logs.</summary>
internal static partial class S3Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "S3 request to {Action} '{Key}' in bucket {Bucket} failed on attempt {Attempt} of {Attempts}, retrying: {Error}")]
    public static partial void RequestRetried(ILogger logger, string action, string key, string bucket, int attempt, int attempts, string error, Exception? exception);
}
