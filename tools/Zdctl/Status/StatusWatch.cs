using ZeroDisk.Zdctl.Cli;

namespace ZeroDisk.Zdctl.Status;

/// <summary>
/// <c>zdctl status --watch</c>: the status again every interval until Ctrl-C, like <c>watch zdctl status</c> or
/// <c>ceph -w</c>. On a terminal the screen is cleared before each round; piped, rounds follow each other under a
/// timestamped rule, so a log of a watch reads as a timeline.
/// </summary>
public static class StatusWatch
{
    public static async Task<int> RunAsync(ZdctlContext context, TimeSpan interval, TextWriter output, CancellationToken ct)
    {
        var terminal = !Console.IsOutputRedirected;
        while (!ct.IsCancellationRequested)
        {
            var now = DateTimeOffset.UtcNow;
            var buffer = new StringWriter();
            try
            {
                await StatusCommand.PrintOnceAsync(context, buffer, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                buffer.WriteLine($"zdctl: {ex.Message}");
            }
            if (terminal) output.Write("\u001b[H\u001b[2J");
            output.WriteLine($"--- {now.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} (every {interval.TotalSeconds:0.#}s, Ctrl-C to stop) ---");
            output.Write(buffer.ToString());
            output.Flush();
            await Task.Delay(interval, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        return ExitCodes.Ok;
    }
}
