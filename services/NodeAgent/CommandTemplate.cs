using System.Reflection;

namespace ZeroDisk.NodeAgent;

/// <summary>Turns a command template of <see cref="AgentOptions"/> into an argument list, one token at a time (no shell, no injection).</summary>
public static class CommandTemplate
{
    public static IReadOnlyList<string> Expand(string template, IReadOnlyDictionary<string, string> values)
    {
        var arguments = new List<string>();
        foreach (var token in template.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (token == "{self}")
            {
                arguments.AddRange(Self());
                continue;
            }
            var expanded = token;
            foreach (var (name, value) in values) expanded = expanded.Replace("{" + name + "}", value, StringComparison.Ordinal);
            arguments.Add(expanded);
        }
        return arguments;
    }

    /// <summary>How to run this nbdhost again: the apphost, or <c>dotnet nbdhost.dll</c> when started that way.</summary>
    public static IReadOnlyList<string> Self()
    {
        var process = Environment.ProcessPath ?? "dotnet";
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? [process, Assembly.GetEntryAssembly()?.Location ?? throw new InvalidOperationException("no entry assembly")]
            : [process];
    }
}
