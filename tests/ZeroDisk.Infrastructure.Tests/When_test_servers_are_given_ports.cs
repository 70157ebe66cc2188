using ZeroDisk.LocalStack;

namespace ZeroDisk.Infrastructure.Tests;

/// <summary>
/// Test hosts run side by side and each starts its own engines, brokers and services on ports it is handed. A port the
/// kernel picked could meanwhile become the source port of someone's outgoing connection, and two hosts could be handed
/// the same one: either way a server fails to bind, or a test talks to another test's server.
/// </summary>
public class When_test_servers_are_given_ports
{
    [Fact]
    public void They_come_from_below_the_kernels_ephemeral_range()
    {
        if (Environment.GetEnvironmentVariable("ZD_FREE_PORTS") is not null) return; // a range chosen by the caller

        var ports = Enumerable.Range(0, 20).Select(_ => FreePort.Next()).ToList();

        Assert.All(ports, p => Assert.InRange(p, 10000, 22999));
        Assert.Equal(ports.Count, ports.Distinct().Count());
    }

    [Fact]
    public async Task Another_process_cannot_take_a_port_while_it_is_reserved()
    {
        var port = FreePort.Next();
        var pair = FreePort.NextPair();

        foreach (var p in new[] { port, pair, pair + 1 })
        {
            var other = await ExternalProcess.RunAsync("flock", ["--nonblock", "--exclusive", FreePort.ReservationFile(p), "true"]);
            Assert.True(other.ExitCode != 0, $"another process could lock port {p}'s reservation: {other.StdErr}");
        }
    }
}
