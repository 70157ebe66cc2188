using System.Reflection;
using System.Text.RegularExpressions;

namespace ZeroDisk.ClusterState.Tests.Deployment;

/// <summary>
/// The configuration keys a built service really reads, found by reflection over its assemblies (the service's own
/// and every ZeroDisk and OpenTelemetry assembly it references): <c>Section:Property</c> of each options class (its
/// <c>Section</c> constant, or its name without "Options"), and every string constant that is a key itself
/// (<c>RABBITMQ_URI</c>, <c>ETCD_ENDPOINTS</c>, OpenTelemetry's <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>Operations:Url</c>).
/// An environment variable names a key with "__" for ":", case-insensitively, as .NET configuration reads it.
/// </summary>
public sealed partial class OptionNames
{
    private readonly HashSet<string> _keys = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyCollection<string> Keys => _keys;

    public static OptionNames Of(string assemblyPath, params string[] moreKeys)
    {
        var names = new OptionNames();
        foreach (var assembly in WithReferences(Assembly.LoadFrom(assemblyPath))) names.Read(assembly);
        foreach (var key in moreKeys) names._keys.Add(key);
        return names;
    }

    public bool Knows(string environmentVariable) => _keys.Contains(environmentVariable.Replace("__", ":", StringComparison.Ordinal));

    private static IEnumerable<Assembly> WithReferences(Assembly entry)
    {
        var seen = new Dictionary<string, Assembly> { [entry.GetName().Name!] = entry };
        var queue = new Queue<Assembly>([entry]);
        while (queue.TryDequeue(out var assembly))
        {
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                if (reference.Name is not { } name || seen.ContainsKey(name) || !(name.StartsWith("ZeroDisk", StringComparison.Ordinal) || name.StartsWith("OpenTelemetry", StringComparison.Ordinal)))
                    continue;
                var loaded = Assembly.Load(reference);
                seen[name] = loaded;
                queue.Enqueue(loaded);
            }
        }
        return seen.Values;
    }

    private void Read(Assembly assembly)
    {
        Type[] types;
        try { types = assembly.GetTypes(); }
        catch (ReflectionTypeLoadException ex) { types = ex.Types.OfType<Type>().ToArray(); }
        foreach (var type in types)
        {
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
                if (field is { IsLiteral: true } && field.FieldType == typeof(string) && field.GetRawConstantValue() is string value && IsKey().IsMatch(value))
                    _keys.Add(value);
            if (!type.Name.EndsWith("Options", StringComparison.Ordinal) || !type.IsClass) continue;
            var section = type.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string ?? type.Name[..^"Options".Length];
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }))
                _keys.Add($"{section}:{property.Name}");
        }
    }

    /// <summary>An environment-style name (RABBITMQ_URI) or a "Section:Key" path.</summary>
    [GeneratedRegex("^([A-Z][A-Z0-9]*(_[A-Z0-9]+)+|[A-Z][A-Za-z0-9]+(:[A-Z][A-Za-z0-9]+)+)$")]
    private static partial Regex IsKey();
}
