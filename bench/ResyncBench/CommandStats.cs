using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using StackExchange.Redis;

/// <summary>
/// Where a step's engine time went: the difference of two <c>INFO commandstats</c> snapshots of one engine (calls and
/// microseconds per command). Snapshots, not <c>CONFIG RESETSTAT</c>: a reset would also zero the fork counter the
/// bench prints beside each figure.
/// </summary>
internal sealed partial class CommandStats(Dictionary<string, (long Calls, long Usec)> commands)
{
    public static async Task<CommandStats> ReadAsync(IDatabase engine)
    {
        var info = (string?)await engine.ExecuteAsync("INFO", "commandstats") ?? "";
        var commands = new Dictionary<string, (long, long)>();
        foreach (Match m in Line().Matches(info))
            commands[m.Groups[1].Value] = (long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));
        return new CommandStats(commands);
    }

    /// <summary>"command calls/ms" for each command called since <paramref name="before"/>, most time first.</summary>
    public string Since(CommandStats before)
    {
        var text = new StringBuilder();
        foreach (var (name, (calls, usec)) in commands
                     .Select(c => (c.Key, Delta: (c.Value.Calls - before.Get(c.Key).Calls, c.Value.Usec - before.Get(c.Key).Usec)))
                     .Where(c => c.Delta.Item1 > 0).OrderByDescending(c => c.Delta.Item2))
            text.Append(CultureInfo.InvariantCulture, $" {name} {calls}/{usec / 1000.0:F1}ms");
        return text.ToString();
    }

    private (long Calls, long Usec) Get(string name) => commands.GetValueOrDefault(name);

    [GeneratedRegex(@"cmdstat_([^:]+):calls=(\d+),usec=(\d+)")]
    private static partial Regex Line();
}
