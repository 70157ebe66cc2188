using Microsoft.Extensions.Logging;

namespace ZeroDisk.LocalStack;

/// <summary>Keeps every formatted log line, so tests can assert what an operator would read.</summary>
public sealed class ListLoggerProvider : ILoggerProvider
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get { lock (_lines) return _lines.ToList(); }
    }

    public ILogger CreateLogger(string categoryName) => new ListLogger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            // The exception's own message is kept too: a test's failure report is often all there is to go on.
            var line = exception is null
                ? $"{logLevel} {category}: {formatter(state, exception)}"
                : $"{logLevel} {category}: {formatter(state, exception)} ({exception.GetType().Name}: {exception.Message})";
            lock (owner._lines) owner._lines.Add(line);
        }
    }
}
