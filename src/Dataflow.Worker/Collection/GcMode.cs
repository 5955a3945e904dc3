namespace Dataflow.Worker;

/// <summary>When a run deletes intermediate artifacts that nothing needs any more.</summary>
public enum GcMode
{
    /// <summary>As soon as nothing needs them: every consumer has committed and no reference points at their bytes. The default.</summary>
    Eager,

    /// <summary>At the end of the run.</summary>
    End,

    /// <summary>Never: keep everything, for debugging.</summary>
    Never,
}
