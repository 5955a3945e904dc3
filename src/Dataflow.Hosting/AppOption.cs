using System.CommandLine;

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
        var option = new Option<T>(Name)
        {
            Description = Description,
            HelpName = _valueName,
            DefaultValueFactory = _ => _defaultValue,
        };

        if (_parse is not null)
        {
            var parse = _parse;
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
}
