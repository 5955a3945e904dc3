using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>The options that say what a run reads and writes and what it is called: the job's own, beside the program's.</summary>
internal sealed class JobOptions
{
    /// <summary>Creates the options with the program's defaults of <c>--input</c> and <c>--output</c>.</summary>
    public JobOptions(string defaultInput, string defaultOutput)
    {
        Input = new AppOption<string>("--input", "The key prefix of the input objects.", defaultInput, "PREFIX", null, null);
        Output = new AppOption<string>("--output", "The key of the final output; an existing output is an error unless --overwrite.", defaultOutput, "KEY", null, null);
    }

    /// <summary><c>--input</c>: the key prefix of the inputs.</summary>
    public AppOption<string> Input { get; }

    /// <summary><c>--output</c>: the key of the final output.</summary>
    public AppOption<string> Output { get; }

    /// <summary><c>--overwrite</c>: whether an existing output is replaced.</summary>
    public AppOption<bool> Overwrite { get; } = new("--overwrite", "Replace the output if it already exists.", false, null, null, null);

    /// <summary><c>--run-id</c>: the run's id.</summary>
    public AppOption<string?> RunId { get; } = new("--run-id", "The run's id (letters, digits, '-', '_'). Default: a new one from the time.", null, "ID", null, v => v is null || RunIds.IsValid(v) ? null : "use 1 to 64 ASCII letters, digits, '-' or '_'");
}
