using System.Net;
using Dataflow.Storage;

namespace Dataflow.Hosting;

/// <summary>What the <c>ui</c> command's server serves, where, and to whom.</summary>
internal sealed record UiOptions
{
    /// <summary>The port the ui command listens on unless told otherwise.</summary>
    public const int DefaultPort = 8650;

    /// <summary>The store whose runs are shown.</summary>
    public required IObjectStore Store { get; init; }

    /// <summary>The address to listen on; loopback unless told otherwise.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>The port; 0 for any free one.</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>The token every request must carry (cookie, bearer header, or <c>?token=</c> once); none on loopback by default.</summary>
    public string? Token { get; init; }

    /// <summary>Whether the pages may resume, cancel and clean up runs.</summary>
    public bool AllowActions { get; init; }

    /// <summary>Resumes a run in this process (the program's own <c>resume</c> command); <see langword="null"/>: resuming is not possible here.</summary>
    public Func<string, CancellationToken, Task<int>>? Resume { get; init; }

    /// <summary>The program's name, shown on the pages.</summary>
    public string ProgramName { get; init; } = "dataflow";

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Where the server's own messages go (an action taken, a request that failed).</summary>
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>True when <see cref="Address"/> is reachable only from this machine.</summary>
    public bool IsLoopback => IPAddress.IsLoopback(Address);
}
