namespace Dataflow.Hosting;

/// <summary>How a program shows a run's progress on stderr.</summary>
internal enum ProgressMode
{
    /// <summary>Bars when stderr is a terminal, plain lines when it is redirected.</summary>
    Auto,

    /// <summary>Live bars, one per stage.</summary>
    Bars,

    /// <summary>A plain line every few seconds.</summary>
    Lines,

    /// <summary>Nothing.</summary>
    None,
}
