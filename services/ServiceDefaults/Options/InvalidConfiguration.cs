using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ZeroDisk.ServiceDefaults.Options;

/// <summary>
/// How a service ends when its configuration is wrong: one line per problem on stderr, naming the option, and exit
/// code <see cref="ExitCode"/>, instead of a stack trace in the log.
/// </summary>
public static class InvalidConfiguration
{
    public const int ExitCode = 2;

    /// <summary>
    /// Builds the host and checks its options (what <c>ValidateOnStart</c> registered) before it starts, so a wrong
    /// value is reported here rather than logged as a failed start; then runs it. Returns 0 when it ends normally.
    /// </summary>
    public static async Task<int> RunAsync(Func<IHost> build, CancellationToken ct = default)
    {
        IHost host;
        try
        {
            host = build();
            host.Services.GetService<IStartupValidator>()?.Validate();
        }
        catch (Exception ex) when (Problems(ex) is { Count: > 0 } problems)
        {
            foreach (var problem in problems) await Console.Error.WriteLineAsync($"invalid configuration: {problem}");
            return ExitCode;
        }
        await host.RunAsync(ct); // disposes the host
        return 0;
    }

    /// <summary>The configuration problems an exception reports; empty when it is about something else.</summary>
    public static IReadOnlyList<string> Problems(Exception ex) => ex switch
    {
        OptionsValidationException invalid => invalid.Failures.ToList(),
        AggregateException many => many.InnerExceptions.SelectMany(Problems).ToList(),
        // "Failed to convert configuration value 'soon' at 'Storage:CommandTimeout' to type 'System.TimeSpan'."
        InvalidOperationException { Source: "Microsoft.Extensions.Configuration.Binder" } binding => [binding.Message],
        _ => [],
    };
}
