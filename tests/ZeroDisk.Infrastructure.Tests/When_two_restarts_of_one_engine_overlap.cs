using ZeroDisk.LocalStack;

namespace ZeroDisk.Infrastructure.Tests;

/// <summary>
/// The fault checker's seed 7008 drew two restarts of one engine from older files 1.2 s apart: they interleaved, the
/// second start lost the port and replaced the harness's process handle, and the first engine ran on untracked, on a
/// deleted directory, after the run had ended. A test engine's kills and restarts now happen one at a time.
/// </summary>
public class When_two_restarts_of_one_engine_overlap
{
    [Fact]
    public async Task Both_happen_and_the_engine_left_is_the_one_the_harness_stops()
    {
        var engine = await RedisServerProcess.StartAsync();
        var port = engine.Port;
        try
        {
            var older = engine.SnapshotDirectory();
            var oldest = engine.SnapshotDirectory();

            await Task.WhenAll(Task.Run(() => engine.RestartFromSnapshotAsync(older)), Task.Run(() => engine.RestartFromSnapshotAsync(oldest)));

            Assert.True(engine.IsRunning, "no engine runs after both restarts");
            Assert.True(ProcessState.IsAlive(engine.Pid!.Value));
        }
        finally
        {
            await engine.DisposeAsync();
        }
        Assert.True(await Eventually.WithinAsync(() => Task.FromResult(FreePort.IsFree(port)), TimeSpan.FromSeconds(10)),
            $"an engine the harness no longer tracks still holds port {port}");
    }
}
