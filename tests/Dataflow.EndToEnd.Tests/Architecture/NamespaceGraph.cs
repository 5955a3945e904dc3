using Mono.Cecil;

namespace Dataflow.EndToEnd.Tests.Architecture;

/// <summary>
/// The namespaces of the types one assembly defines, and which of them refers to which: an edge A → B when a type
/// of A refers to a type the same assembly defines in B — through its base type, interfaces, generic constraints,
/// custom attributes, fields, properties, events, method signatures, locals, catch clauses, or an operand of its
/// method bodies (a type, method or field reference). A nested type counts in its outermost type's namespace, so the
/// closures and state machines the compiler nests in a type count with it. Types the compiler or a source generator
/// makes at top level (<c>&lt;Module&gt;</c>, <c>&lt;PrivateImplementationDetails&gt;</c>, embedded attributes,
/// generated regular expressions) are no nodes; see <see cref="IsGenerated"/>.
/// </summary>
internal sealed class NamespaceGraph
{
    private readonly ModuleDefinition _module;
    private readonly Dictionary<string, HashSet<string>> _edges = new(StringComparer.Ordinal);
    private readonly Dictionary<(string From, string To), string> _examples = [];

    private NamespaceGraph(ModuleDefinition module)
    {
        _module = module;
    }

    /// <summary>Each namespace's successors; every namespace of a (not generated) type the assembly defines is a key.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> Edges =>
        _edges.ToDictionary(e => e.Key, e => (IReadOnlySet<string>)e.Value, StringComparer.Ordinal);

    /// <summary>The first reference found for an edge, as "Type → Type (what)", for failure messages.</summary>
    public string Example(string from, string to) => _examples.TryGetValue((from, to), out var example) ? example : "?";

    /// <summary>Reads the graph of the assembly at <paramref name="path"/>.</summary>
    public static NamespaceGraph Read(string path)
    {
        using var assembly = AssemblyDefinition.ReadAssembly(path, new ReaderParameters { ReadSymbols = false });
        return Read(assembly.MainModule);
    }

    /// <summary>Reads the graph of <paramref name="module"/>.</summary>
    public static NamespaceGraph Read(ModuleDefinition module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var graph = new NamespaceGraph(module);
        foreach (var type in module.Types.Where(t => !IsGenerated(t)))
        {
            graph._edges.TryAdd(type.Namespace, new HashSet<string>(StringComparer.Ordinal));
        }

        foreach (var type in module.GetTypes().Where(t => !IsGenerated(Outermost(t))))
        {
            graph.AddType(type);
        }

        return graph;
    }

    /// <summary>The type itself when it is not nested, else its outermost declaring type.</summary>
    public static TypeDefinition Outermost(TypeDefinition type)
    {
        ArgumentNullException.ThrowIfNull(type);
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        return type;
    }

    /// <summary>
    /// Whether a type was made by the compiler or a source generator rather than written: <c>[CompilerGenerated]</c>
    /// (embedded attributes), or a name no C# type can have (<c>&lt;Module&gt;</c>, <c>&lt;&gt;c</c>, a generated
    /// regular expression's <c>&lt;RegexGenerator_g&gt;…</c>). Not <c>[GeneratedCode]</c>: a source generator marks
    /// so the partial types it completes, such as a <c>JsonSerializerContext</c>, which are written and count.
    /// </summary>
    public static bool IsGenerated(TypeDefinition type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return type.Name.Contains('<', StringComparison.Ordinal)
            || type.CustomAttributes.Any(a => a.AttributeType.FullName == "System.Runtime.CompilerServices.CompilerGeneratedAttribute");
    }

    private void AddType(TypeDefinition type)
    {
        var from = Outermost(type);
        Refer(from, type.BaseType, "base type");
        foreach (var implementation in type.Interfaces)
        {
            Refer(from, implementation.InterfaceType, "interface");
            Attributes(from, implementation.CustomAttributes);
        }

        Attributes(from, type.CustomAttributes);
        GenericParameters(from, type.GenericParameters);
        foreach (var field in type.Fields)
        {
            Refer(from, field.FieldType, $"field {field.Name}");
            Attributes(from, field.CustomAttributes);
        }

        foreach (var property in type.Properties)
        {
            Refer(from, property.PropertyType, $"property {property.Name}");
            Attributes(from, property.CustomAttributes);
            foreach (var parameter in property.Parameters)
            {
                Refer(from, parameter.ParameterType, $"property {property.Name}");
            }
        }

        foreach (var @event in type.Events)
        {
            Refer(from, @event.EventType, $"event {@event.Name}");
            Attributes(from, @event.CustomAttributes);
        }

        foreach (var method in type.Methods)
        {
            AddMethod(from, method);
        }
    }

    private void AddMethod(TypeDefinition from, MethodDefinition method)
    {
        var what = $"method {method.Name}";
        Refer(from, method.ReturnType, what);
        Attributes(from, method.CustomAttributes);
        Attributes(from, method.MethodReturnType.CustomAttributes);
        GenericParameters(from, method.GenericParameters);
        foreach (var parameter in method.Parameters)
        {
            Refer(from, parameter.ParameterType, what);
            Attributes(from, parameter.CustomAttributes);
        }

        foreach (var overridden in method.Overrides)
        {
            ReferMethod(from, overridden, what);
        }

        if (!method.HasBody)
        {
            return;
        }

        what = $"body of {method.Name}";
        foreach (var variable in method.Body.Variables)
        {
            Refer(from, variable.VariableType, what);
        }

        foreach (var handler in method.Body.ExceptionHandlers)
        {
            Refer(from, handler.CatchType, what);
        }

        foreach (var instruction in method.Body.Instructions)
        {
            switch (instruction.Operand)
            {
                case TypeReference operand:
                    Refer(from, operand, what);
                    break;
                case MethodReference operand:
                    ReferMethod(from, operand, what);
                    break;
                case FieldReference operand:
                    Refer(from, operand.DeclaringType, what);
                    Refer(from, operand.FieldType, what);
                    break;
                case CallSite operand:
                    Refer(from, operand.ReturnType, what);
                    foreach (var parameter in operand.Parameters)
                    {
                        Refer(from, parameter.ParameterType, what);
                    }

                    break;
                default:
                    break;
            }
        }
    }

    private void ReferMethod(TypeDefinition from, MethodReference method, string what)
    {
        Refer(from, method.DeclaringType, what);
        Refer(from, method.ReturnType, what);
        foreach (var parameter in method.Parameters)
        {
            Refer(from, parameter.ParameterType, what);
        }

        if (method is GenericInstanceMethod generic)
        {
            foreach (var argument in generic.GenericArguments)
            {
                Refer(from, argument, what);
            }
        }
    }

    private void GenericParameters(TypeDefinition from, IEnumerable<GenericParameter> parameters)
    {
        foreach (var parameter in parameters)
        {
            Attributes(from, parameter.CustomAttributes);
            foreach (var constraint in parameter.Constraints)
            {
                Refer(from, constraint.ConstraintType, "generic constraint");
                Attributes(from, constraint.CustomAttributes);
            }
        }
    }

    private void Attributes(TypeDefinition from, IEnumerable<CustomAttribute> attributes)
    {
        foreach (var attribute in attributes)
        {
            Refer(from, attribute.AttributeType, "attribute");
            foreach (var argument in attribute.ConstructorArguments
                .Concat(attribute.Fields.Select(f => f.Argument))
                .Concat(attribute.Properties.Select(p => p.Argument)))
            {
                AttributeArgument(from, argument);
            }
        }
    }

    private void AttributeArgument(TypeDefinition from, CustomAttributeArgument argument)
    {
        switch (argument.Value)
        {
            case TypeReference type: // typeof(T)
                Refer(from, type, "attribute argument");
                break;
            case CustomAttributeArgument boxed:
                AttributeArgument(from, boxed);
                break;
            case CustomAttributeArgument[] array:
                foreach (var element in array)
                {
                    AttributeArgument(from, element);
                }

                break;
            default:
                break;
        }
    }

    /// <summary>Adds the edges from <paramref name="from"/> to every type of this module that <paramref name="reference"/> names.</summary>
    private void Refer(TypeDefinition from, TypeReference? reference, string what)
    {
        switch (reference)
        {
            case null or GenericParameter:
                return;
            case GenericInstanceType generic:
                Refer(from, generic.ElementType, what);
                foreach (var argument in generic.GenericArguments)
                {
                    Refer(from, argument, what);
                }

                return;
            case IModifierType modified:
                Refer(from, modified.ModifierType, what);
                Refer(from, modified.ElementType, what);
                return;
            case FunctionPointerType pointer:
                Refer(from, pointer.ReturnType, what);
                foreach (var parameter in pointer.Parameters)
                {
                    Refer(from, parameter.ParameterType, what);
                }

                return;
            case TypeSpecification specification: // arrays, by-reference, pointers, pinned, sentinels
                Refer(from, specification.ElementType, what);
                return;
            default:
                break;
        }

        var definition = reference as TypeDefinition
            ?? (reference.Scope is ModuleDefinition scope && scope == _module ? reference.Resolve() : null);
        if (definition is null || definition.Module != _module)
        {
            return;
        }

        var to = Outermost(definition);
        if (IsGenerated(to) || to.Namespace == from.Namespace)
        {
            return;
        }

        if (_edges[from.Namespace].Add(to.Namespace))
        {
            _examples[(from.Namespace, to.Namespace)] = $"{from.FullName} → {to.FullName} ({what})";
        }
    }
}
