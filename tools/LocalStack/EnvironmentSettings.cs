namespace ZeroDisk.LocalStack;

/// <summary>Sizes of a bench or a long test that the environment may change (e.g. <c>ZD_BENCH_EVENTS=1000</c>).</summary>
public static class EnvironmentSettings
{
    /// <summary>The variable's value as a whole number, else <paramref name="fallback"/>.</summary>
    public static int Int(string name, int fallback) => int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;
}
