using System.CommandLine;
using Dataflow.Storage;

namespace Dataflow.Hosting;

/// <summary>What a program's callbacks see during one command: option values, the store, and stderr for messages.</summary>
public sealed class RunContext
{
    private readonly ParseResult _parse;
    private readonly IReadOnlyDictionary<AppOption, Option> _options;
    private IObjectStore? _store;

    internal RunContext(string programName, ParseResult parse, IReadOnlyDictionary<AppOption, Option> options, AppConsole console)
    {
        ProgramName = programName;
        _parse = parse;
        _options = options;
        Console = console;
    }

    /// <summary>The program's name, as its messages start.</summary>
    public string ProgramName { get; }

    /// <summary>Where output goes.</summary>
    public AppConsole Console { get; }

    /// <summary>The input prefix (<c>--input</c>).</summary>
    public string InputPrefix { get; internal init; } = string.Empty;

    /// <summary>The output key (<c>--output</c>).</summary>
    public string OutputKey { get; internal init; } = string.Empty;

    /// <summary>Tasks at once (<c>--concurrency</c>); also a sensible parallelism for preparing inputs.</summary>
    public int Concurrency { get; internal init; }

    /// <summary>The run's id.</summary>
    public string RunId { get; internal init; } = string.Empty;

    /// <summary>
    /// For a program that runs its jobs from code (<see cref="DataflowCommands"/>): the arguments stored with the run,
    /// from which its job is defined again; <see langword="null"/> for a program's own command line.
    /// </summary>
    internal IReadOnlyList<string>? CodeArguments { get; init; }

    /// <summary>What the command's store logs through (its retried requests): the command's logging, once started.</summary>
    internal StoreLogger StoreLog { get; set; } = new();

    /// <summary>The store, once opened (it is not yet open while the job is being defined).</summary>
    /// <exception cref="InvalidOperationException">Read before the store was opened.</exception>
    public IObjectStore Store
    {
        get => _store ?? throw new InvalidOperationException("the store is opened after the job is defined; use it in BeforeRun or Verify");
        internal set => _store = value;
    }

    /// <summary>The value of one of the program's own options.</summary>
    /// <exception cref="ArgumentException">The option was not added to this program.</exception>
    public T Get<T>(AppOption<T> option)
    {
        ArgumentNullException.ThrowIfNull(option);
        if (!_options.TryGetValue(option, out var created))
        {
            throw new ArgumentException($"option {option.Name} does not belong to this program", nameof(option));
        }

        return option.ValueIn(_parse, created);
    }

    /// <summary>Whether the command has <paramref name="option"/>.</summary>
    internal bool Has(AppOption option) => _options.ContainsKey(option);


    /// <summary>
    /// The tokens of those of <paramref name="options"/> that were given on the command line (not defaulted), as
    /// <c>--name value…</c>, so that another process can parse the same values again.
    /// </summary>
    internal List<string> GivenArguments(IEnumerable<AppOption> options)
    {
        var args = new List<string>();
        foreach (var option in options)
        {
            if (_options.TryGetValue(option, out var created) && _parse.GetResult(created) is { Implicit: false } result)
            {
                args.Add(option.Name);
                args.AddRange(result.Tokens.Select(t => t.Value));
            }
        }

        return args;
    }

    /// <summary>Writes a line for people on stderr, prefixed with the program's name.</summary>
    public void Info(string message) => Console.Error.WriteLine($"{ProgramName}: {message}");

    /// <summary>
    /// For a program that creates its inputs when there are none: whether objects already lie under the input
    /// prefix. When they do, it says so (<see cref="Info"/>), and the program should use them and create nothing.
    /// </summary>
    public async Task<bool> UseExistingInputsAsync(CancellationToken cancellationToken = default)
    {
        var existing = 0;
        await foreach (var _ in Store.ListAsync(InputPrefix, cancellationToken).ConfigureAwait(false))
        {
            existing++;
        }

        if (existing > 0)
        {
            Info(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"using the {existing} objects already under '{InputPrefix}' (nothing generated)"));
        }

        return existing > 0;
    }
}
