using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace ZeroDisk.ServiceDefaults.Logging;

public static class LoggingExtensions
{
    /// <summary>
    /// Console logging in the one-line, escaping format (<see cref="OneLineConsoleFormatter"/>), UTC timestamps: for a
    /// process whose output a node's collector tails. With <paramref name="toStandardError"/> every record goes to
    /// stderr, else to stdout.
    /// </summary>
    public static ILoggingBuilder AddOneLineConsole(this ILoggingBuilder logging, bool toStandardError = false)
    {
        logging.AddConsole(o =>
        {
            o.FormatterName = OneLineConsoleFormatter.FormatterName;
            if (toStandardError) o.LogToStandardErrorThreshold = LogLevel.Trace;
        });
        logging.AddConsoleFormatter<OneLineConsoleFormatter, ConsoleFormatterOptions>(o =>
        {
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });
        return logging;
    }
}
