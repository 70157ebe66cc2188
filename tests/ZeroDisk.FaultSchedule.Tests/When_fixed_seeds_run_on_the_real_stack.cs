using Xunit.Abstractions;
using ZeroDisk.LocalStack;

namespace ZeroDisk.FaultSchedule.Tests;

/// <summary>
/// CI's seeds: the checker (tools/FaultCheck) as its own process, exactly as scripts/fault-check.sh runs it, on the
/// fault kinds main survives today. A failure prints the seed, the schedule, the first violating block with its
/// history and where the logs are; rerun it with <c>zdfaultcheck --seed N --seconds S</c>.
/// </summary>
public class When_fixed_seeds_run_on_the_real_stack(ITestOutputHelper output)
{
    [Theory]
    [InlineData(7)]
    public async Task The_seed_passes(int seed)
    {
        var endpoints = await LocalInfrastructure.GetAsync();
        var checker = Path.Combine(AppContext.BaseDirectory, "zdfaultcheck.dll");
        var result = await ExternalProcess.RunAsync("dotnet", [checker, "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seconds", "40"],
            TimeSpan.FromMinutes(9.5), new Dictionary<string, string>(endpoints.ToEnvironment()));
        output.WriteLine(result.StdOut);
        output.WriteLine(result.StdErr);
        Assert.True(result.ExitCode == 0 && result.StdOut.Contains($"FAULTCHECK PASS seed {seed}", StringComparison.Ordinal),
            $"seed {seed} failed (exit {result.ExitCode}):\n{Tail(result.StdOut)}\n{Tail(result.StdErr)}");
    }

    private static string Tail(string text) => text.Length > 6000 ? text[^6000..] : text;
}
