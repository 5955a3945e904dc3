namespace Dataflow.Hosting;

/// <summary>How log messages are written (<c>--log-format</c>).</summary>
internal enum LogFormat
{
    /// <summary>One line of text each.</summary>
    Text,

    /// <summary>One JSON object per line.</summary>
    Json,
}
