using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace ZeroDisk.ServiceDefaults.Logging;

/// <summary>
/// Console log records as exactly one line each: <c>2026-12-06T00:00:00.000Z info: Category[0] message exception</c>,
/// with every control character of the message and the exception (newlines in stack traces and in client-controlled
/// text alike) escaped as <c>\n</c>, <c>\r</c>, <c>\uXXXX</c>. The node's collector reads a process's output line by
/// line and takes an exact event line at the start of a line as an event (events cannot be forged): a record that
/// spans lines could carry a forged one, a record on one line that starts with its timestamp never is one.
/// </summary>
public sealed class OneLineConsoleFormatter : ConsoleFormatter, IDisposable
{
    public const string FormatterName = "zerodisk-oneline";

    private readonly IDisposable? _reload;
    private ConsoleFormatterOptions _options;

    public OneLineConsoleFormatter(IOptionsMonitor<ConsoleFormatterOptions> options) : base(FormatterName)
    {
        _options = options.Get(FormatterName);
        _reload = options.OnChange((changed, name) => { if (name == FormatterName) _options = changed; });
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null) return;
        var options = _options;
        var now = options.UseUtcTimestamp ? DateTimeOffset.UtcNow : DateTimeOffset.Now;
        var line = new System.Text.StringBuilder(128 + (message?.Length ?? 0));
        line.Append(now.ToString(options.TimestampFormat ?? "yyyy-MM-ddTHH:mm:ss.fffZ ", CultureInfo.InvariantCulture));
        line.Append(LevelName(logEntry.LogLevel)).Append(": ");
        AppendEscaped(line, logEntry.Category);
        line.Append('[').Append(logEntry.EventId.Id.ToString(CultureInfo.InvariantCulture)).Append("] ");
        if (options.IncludeScopes && scopeProvider is not null)
            scopeProvider.ForEachScope(static (scope, b) => { b.Append("=> "); AppendEscaped(b, scope?.ToString()); b.Append(' '); }, line);
        AppendEscaped(line, message);
        if (logEntry.Exception is not null)
        {
            line.Append(" | ");
            AppendEscaped(line, logEntry.Exception.ToString());
        }
        line.Append('\n');
        textWriter.Write(line.ToString()); // one write: the console logger hands it on whole
    }

    /// <summary>Appends <paramref name="text"/> with every character that could end a line (or hide one) escaped.</summary>
    public static void AppendEscaped(System.Text.StringBuilder line, string? text)
    {
        if (text is null) return;
        foreach (var c in text)
        {
            switch (c)
            {
                case '\n': line.Append("\\n"); break;
                case '\r': line.Append("\\r"); break;
                case '\t': line.Append("\\t"); break;
                default:
                    if (char.IsControl(c) || c is '\u2028' or '\u2029')
                        line.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else line.Append(c);
                    break;
            }
        }
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };

    public void Dispose() => _reload?.Dispose();
}
