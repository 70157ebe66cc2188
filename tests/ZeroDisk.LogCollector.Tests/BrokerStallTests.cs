namespace ZeroDisk.LogCollector.Tests;

/// <summary>
/// The broker neither reads nor answers (no publisher confirm) for longer than the publish timeout — a broker stopped
/// or starved on a busy machine — from before the first publish (the channel and its topology are being set up) until
/// well after publishes time out; then it takes and answers everything at once. Every line written before, during and
/// after the stall must be published, exactly once after dedup by MessageId.
/// </summary>
public class When_the_broker_stalls_for_longer_than_the_publish_timeout
{
    [Fact]
    public async Task Every_line_written_before_during_and_after_the_stall_is_published()
    {
        await using var run = await ProxiedCollector.StartAsync("lc-stall");
        run.Proxy.Stall();
        run.Write(200);
        await run.WaitForLogAsync("Broker did not confirm a publish");
        await Task.Delay(TimeSpan.FromSeconds(12)); // a few probes time out too (publish timeout 5 s)
        run.Proxy.Resume();
        run.Write(100);

        await run.ExpectEveryLinePublishedAsync(TimeSpan.FromSeconds(90));
        await run.WaitForLogAsync("Broker confirms publishes again");
    }
}

/// <summary>
/// The collector's broker connection hangs — open, nothing relayed in either direction, ever — while the broker
/// itself is fine and answers new connections (what a client whose channel lost track of its replies looks like from
/// outside; seen in CI: a collector published nothing for two minutes beside an idle broker). The collector must
/// notice that nothing has been confirmed for <c>ReconnectAfter</c> and publish on a new connection, well before the
/// heartbeat timeout (a minute or more) would close the old one.
/// </summary>
public class When_the_collectors_broker_connection_hangs(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task It_reconnects_after_ReconnectAfter_and_publishes_every_line()
    {
        await using var run = await ProxiedCollector.StartAsync("lc-wedge", new Dictionary<string, string?> { ["LogCollector:ReconnectAfter"] = "00:00:15" });
        run.Write(50);
        await run.ExpectEveryLinePublishedAsync(TimeSpan.FromSeconds(60));

        run.Proxy.WedgeOpenConnections();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        run.Write(200);
        // 15 s without a confirm, then one reconnect: 90 s is ample for that and short of a heartbeat timeout.
        try
        {
            await run.ExpectEveryLinePublishedAsync(TimeSpan.FromSeconds(90));
        }
        finally
        {
            output.WriteLine($"{clock.Elapsed.TotalSeconds:F1}s after the wedge:\n" + string.Join("\n", run.BrokerLog));
        }
        await run.WaitForLogAsync("dropping the broker connection and opening a new one");
    }
}
