using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ZeroDisk.Nbd.Tests.Support;

/// <summary>Keeps warnings and errors so a test can assert the server met no unexpected failure.</summary>
public sealed class RecordingLogger<T> : ILogger<T>
{
    public ConcurrentQueue<string> Problems { get; } = new();

    public ConcurrentQueue<string> Errors { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel < LogLevel.Warning) return;
        var line = $"{logLevel}: {formatter(state, exception)} {exception}";
        Problems.Enqueue(line);
        if (logLevel >= LogLevel.Error) Errors.Enqueue(line);
    }
}
