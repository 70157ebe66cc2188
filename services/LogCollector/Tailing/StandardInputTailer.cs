using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.LogCollector.Hosting;
using ZeroDisk.LogCollector.Publishing;

namespace ZeroDisk.LogCollector.Tailing;

/// <summary>
/// Reads lines from standard input as stream "stdin". A pipe cannot be re-read, so there is no checkpoint; the
/// generation is this process's start time, so offsets counted from 0 again after a restart never reuse an id.
/// </summary>
internal sealed class StandardInputTailer(
    LogCollectorOptions options,
    LineClassifier classifier,
    ConfirmedPublisher publisher,
    ILogger<StandardInputTailer> logger) : BackgroundService
{
    public const string StreamName = "stdin";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // Console input has no truly asynchronous read on every platform: keep it off the shared pool's hot threads.
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var origin = new LineOrigin(options.Node, StreamName, "<stdin>", 0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var batch = new LineBatch(options.MaxInFlight, options.MaxBatchBytes);
        using var splitter = new LineSplitter(options.MaxLineBytes, options.ReadChunkBytes, 0);
        await using var input = Console.OpenStandardInput();
        logger.LogInformation("Reading standard input as stream {Stream}", StreamName);
        int read;
        while ((read = await input.ReadAsync(splitter.GetWriteMemory(), stoppingToken)) > 0)
        {
            splitter.Advance(read);
            do
            {
                batch.Clear();
                classifier.Drain(splitter, origin, batch);
                if (batch.Messages.Count > 0)
                    await publisher.PublishAllAsync(batch.Messages, options.Node, stoppingToken);
            } while (batch.IsFull);
        }
        logger.LogInformation("Standard input closed at offset {Offset}", splitter.ReadPosition);
    }
}
