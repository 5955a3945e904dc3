namespace Dataflow.Hosting;

/// <summary><c>--speculate</c>: whether straggling tasks get a backup attempt.</summary>
internal enum SpeculateMode
{
    /// <summary>Backup attempts of stragglers (the default).</summary>
    On,

    /// <summary>Never two attempts of a task at once: for operators with effects outside the store.</summary>
    Off,
}
