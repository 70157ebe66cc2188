using Microsoft.Extensions.Logging.Abstractions;
using ZeroDisk.Tlog;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// k = 2 of 2 servers. With one down, appends still succeed but FLUSH cannot be durable: it fails (the one case the
/// VM gets EIO). When the server is back, the writer catches it up and the same flush succeeds.
/// </summary>
public class When_fewer_than_k_tlog_servers_live
{
    [Fact]
    public async Task Flush_fails_until_the_server_is_back_and_caught_up()
    {
        var ct = TestContext.Current;
        using var dir = new TempDirectory("zd-tlog-k");
        await using var a = await TlogServerProcess.StartAsync(Path.Combine(dir.Path, "a"));
        await using var b = await TlogServerProcess.StartAsync(Path.Combine(dir.Path, "b"));
        var vdisk = TestNames.Unique("vd");
        await using var writer = await TlogWriter.OpenAsync(new TlogWriterOptions
        {
            VdiskId = vdisk, Epoch = 3, Servers = [a.Address, b.Address], RequiredAcks = 2, FlushTimeout = TimeSpan.FromSeconds(2),
        }, NullLogger.Instance, ct);
        var block = new byte[4096];
        await writer.AppendAsync(0, block.AsMemory(), ct);
        await writer.FlushAsync(ct);

        await b.KillAsync();
        Random.Shared.NextBytes(block);
        await writer.AppendAsync(1, block.AsMemory(), ct); // no error: the write is kept until durable
        await Assert.ThrowsAsync<TlogNotDurableException>(() => writer.FlushAsync(ct));
        Assert.Equal(1, writer.DurableSequence);

        await b.RestartAsync();
        await writer.FlushAsync(ct);
        Assert.Equal(2, writer.DurableSequence);
        await using var probe = await TlogConnection.ConnectAsync(b.Address, TimeSpan.FromSeconds(5), ct);
        Assert.Equal(2, await probe.QueryHighestAsync(vdisk, 3, ct));
    }
}
