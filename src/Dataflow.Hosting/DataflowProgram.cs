namespace Dataflow.Hosting;

/// <summary>
/// A program of several jobs: each a <see cref="DataflowApp"/>, reached by its name as the first argument —
/// <c>tools merge --store …</c>, <c>tools count resume &lt;run-id&gt; …</c> — with every command and option a program
/// of one job has. Worker processes and pods are started with the job's name before their command, so they define
/// the same job again.
/// </summary>
/// <example>
/// <code>
/// var merge = new DataflowApp("merge", "Merges objects in a reduce tree.");
/// merge.DefineJob(ctx => Job.Named("merge").FromPrefix(ctx.InputPrefix).ReduceTree(2, new ConcatOperator()).WriteTo(ctx.OutputKey));
/// var count = new DataflowApp("count", "Counts the bytes of objects.");
/// count.DefineJob(ctx => ...);
/// return await new DataflowProgram("tools", "Data tools.").Add(merge).Add(count).RunAsync(args);
/// </code>
/// </example>
public sealed class DataflowProgram
{
    // With the job's own name, its first argument (a DataflowApp's Name becomes "<program> <job>" once added).
    private readonly List<(string Name, DataflowApp Job)> _jobs = [];

    /// <summary>Creates a program of several jobs.</summary>
    /// <param name="name">The program's name (its executable's), which starts its messages.</param>
    /// <param name="description">One or two sentences for <c>--help</c>.</param>
    public DataflowProgram(string name, string description)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(description);
        Name = name;
        Description = description;
    }

    /// <summary>The program's name.</summary>
    public string Name { get; }

    /// <summary>The program's description.</summary>
    public string Description { get; }

    /// <summary>The jobs, in the order added.</summary>
    public IReadOnlyList<DataflowApp> Jobs => [.. _jobs.Select(j => j.Job)];

    /// <summary>Adds a job, reached by its <see cref="DataflowApp.Name"/> as the program's first argument.</summary>
    /// <exception cref="ArgumentException">The name is not a word of lower-case letters, digits and '-', or another job has it.</exception>
    /// <exception cref="InvalidOperationException">The job belongs to a program already.</exception>
    public DataflowProgram Add(DataflowApp job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.IsHosted)
        {
            throw new InvalidOperationException($"'{job.Name}' is a job of a program already");
        }

        var name = job.Name;
        if (name.Length == 0 || name[0] == '-' || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            throw new ArgumentException($"job '{name}': a job of a program is named by one word of lower-case letters, digits and '-', its first argument", nameof(job));
        }

        if (name == "help")
        {
            throw new ArgumentException("job 'help': the name asks for the program's help", nameof(job));
        }

        if (_jobs.Exists(j => j.Name == name))
        {
            throw new ArgumentException($"program '{Name}' has a job '{name}' already", nameof(job));
        }

        job.HostIn(Name);
        _jobs.Add((name, job));
        return this;
    }

    /// <summary>Runs the command line on the process's console, with Ctrl+C and SIGTERM cancelling the run.</summary>
    /// <returns>The exit code (see <see cref="ExitCodes"/>).</returns>
    public Task<int> RunAsync(string[] args) => DataflowApp.RunOnConsoleAsync((console, cancellationToken) => RunAsync(args, console, cancellationToken));

    /// <summary>
    /// Runs the command line with the given console and cancellation: the job its first argument names, with the
    /// rest; <c>--help</c> (or nothing) lists the jobs.
    /// </summary>
    /// <returns>The exit code (see <see cref="ExitCodes"/>).</returns>
    public async Task<int> RunAsync(string[] args, AppConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        if (_jobs.Count == 0)
        {
            throw new InvalidOperationException($"program '{Name}' has no jobs: call Add before RunAsync");
        }

        if (args.Length == 0 || args[0] is "--help" or "-h" or "-?" or "help")
        {
            var writer = args.Length == 0 ? console.Error : console.Out;
            WriteHelp(writer);
            return args.Length == 0 ? ExitCodes.Usage : ExitCodes.Success;
        }

        var job = _jobs.Find(j => j.Name == args[0]).Job;
        if (job is null)
        {
            return CommandSupport.Usage(console, Name, $"'{args[0]}' is not a job of this program; its jobs: {string.Join(", ", _jobs.Select(j => j.Name))} (see --help)");
        }

        return await job.RunAsync(args[1..], console, cancellationToken).ConfigureAwait(false);
    }

    private void WriteHelp(TextWriter writer)
    {
        writer.WriteLine("Description:");
        writer.WriteLine($"  {Description}");
        writer.WriteLine();
        writer.WriteLine("Usage:");
        writer.WriteLine($"  {Name} <job> [command] [options]");
        writer.WriteLine();
        writer.WriteLine("Jobs:");
        var width = _jobs.Max(j => j.Name.Length) + 2;
        foreach (var (name, job) in _jobs)
        {
            writer.WriteLine($"  {name.PadRight(width)}{job.Description}");
        }

        writer.WriteLine();
        writer.WriteLine($"'{Name} <job> --help' lists a job's options and commands (run, resume, runs, status, gc, ...).");
    }
}
