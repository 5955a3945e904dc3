using System.CommandLine;
using System.Globalization;

namespace Dataflow.Hosting;

/// <summary>A command-line option of a Dataflow program. Read its value with <see cref="RunContext.Get{T}(AppOption{T})"/>.</summary>
public abstract class AppOption
{
    private protected AppOption(string name, string description)
    {
        if (!name.StartsWith("--", StringComparison.Ordinal) || name.Length < 3)
        {
            throw new ArgumentException($"option name '{name}' must start with '--'", nameof(name));
        }

        Name = name;
        Description = description;
    }

    /// <summary>The option's name, e.g. <c>--files</c>.</summary>
    public string Name { get; }

    /// <summary>What the option does, for <c>--help</c>.</summary>
    public string Description { get; }

    internal abstract Option CreateOption();

    /// <summary>
    /// The default as <c>--help</c> shows it, in the form the option takes on a command line (<c>local</c>,
    /// <c>30m</c>, <c>16MiB</c>), or <see langword="null"/> when there is none to show (a flag that is off, no value).
    /// </summary>
    internal abstract string? HelpDefault { get; }
}

/// <summary>A command-line option with a value of type <typeparamref name="T"/>.</summary>
/// <typeparam name="T">The value's type.</typeparam>
public sealed class AppOption<T> : AppOption
{
    private readonly T _defaultValue;
    private readonly Func<string, T>? _parse;
    private readonly Func<T, string?>? _validate;
    private readonly string? _valueName;

    internal AppOption(string name, string description, T defaultValue, string? valueName, Func<string, T>? parse, Func<T, string?>? validate)
        : base(name, description)
    {
        _defaultValue = defaultValue;
        _valueName = valueName;
        _parse = parse;
        _validate = validate;
    }

    internal override Option CreateOption()
    {
        // No DefaultValueFactory: System.CommandLine would show the default as .NET prints it ([default: Local],
        // [default: 00:30:00], [default: 16777216]). The description shows it as written, and ValueIn supplies it.
        var option = new Option<T>(Name)
        {
            Description = HelpDefault is { } shown ? $"{Description} [default: {shown}]" : Description,
            HelpName = _valueName,
        };

        var parse = _parse ?? NumberParser();
        if (parse is not null)
        {
            option.CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
                try
                {
                    return parse(text);
                }
                catch (FormatException ex)
                {
                    result.AddError($"{Name}: {ex.Message}");
                    return default!;
                }
            };
        }

        if (_validate is not null)
        {
            var validate = _validate;
            option.Validators.Add(result =>
            {
                if (result.Tokens.Count == 0)
                {
                    return;
                }

                T value;
                try
                {
                    value = result.GetValueOrDefault<T>();
                }
                catch (InvalidOperationException)
                {
                    return;
                }

                if (validate(value) is { } problem)
                {
                    result.AddError($"{Name}: {problem}");
                }
            });
        }

        return option;
    }

    /// <summary>The option's value in <paramref name="parse"/> (<paramref name="created"/> is the option made of it): its default when not given.</summary>
    internal T ValueIn(ParseResult parse, Option created) =>
        parse.GetResult(created) is { Implicit: false } ? parse.GetValue((Option<T>)created)! : _defaultValue;

    internal override string? HelpDefault => _defaultValue switch
    {
        null => null,
        bool => null,
        string text => text.Length == 0 ? null : text,
        Enum value => value.ToString().ToLowerInvariant(),
        TimeSpan span => FormatDuration(span),
        long bytes when _valueName == "SIZE" => FormatSize(bytes),
        IFormattable value => value.ToString(null, CultureInfo.InvariantCulture),
        _ => null,
    };

    /// <summary>
    /// For whole numbers without a parser of the option's own: a parser whose error names the option and says what
    /// it takes, rather than System.CommandLine's, which names the .NET type (<c>System.Nullable`1[System.Int32]</c>).
    /// </summary>
    private static Func<string, T>? NumberParser()
    {
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        if (type == typeof(int))
        {
            return text => int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                ? (T)(object)n
                : throw new FormatException($"'{text}' is not a whole number");
        }

        if (type == typeof(long))
        {
            return text => long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                ? (T)(object)n
                : throw new FormatException($"'{text}' is not a whole number");
        }

        return null;
    }

    private static string FormatDuration(TimeSpan span)
    {
        if (span == Timeout.InfiniteTimeSpan)
        {
            return "infinite";
        }

        var ms = (long)span.TotalMilliseconds;
        var (count, unit) = ms % 3_600_000 == 0 ? (ms / 3_600_000, "h")
            : ms % 60_000 == 0 ? (ms / 60_000, "m")
            : ms % 1000 == 0 ? (ms / 1000, "s")
            : (ms, "ms");
        return string.Create(CultureInfo.InvariantCulture, $"{count}{unit}");
    }

    private static string FormatSize(long bytes)
    {
        foreach (var (suffix, factor) in new[] { ("TiB", 1L << 40), ("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10) })
        {
            if (bytes >= factor && bytes % factor == 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{bytes / factor}{suffix}");
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture);
    }
}
