using System.Globalization;

namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary>
/// Memory stays bounded, against a real <c>nbdhost serve</c> on redis engines with its default limits: a client keeps
/// 64 writes of 32 MiB in flight (2 GiB) and never reads a reply. The server reads that connection only as far as its
/// byte budget allows (64 MiB per connection, 256 MiB per server), so its peak RSS stays under the bound in
/// docs/DECISIONS.md while another client (qemu-io) is served; and a connection that never negotiates is closed.
/// </summary>
public sealed class When_a_client_never_reads_its_replies(ITestOutputHelper output) : ServeProcessTest(output)
{
    private const long MiB = 1 << 20;

    /// <summary>The documented bound on what the load may add to the idle server's RSS (DECISIONS "nbd-edge").</summary>
    private const long GrowthBound = 256 * MiB + 192 * MiB;

    protected override IReadOnlyDictionary<string, string> ServeEnvironment { get; } = new Dictionary<string, string>
    {
        ["Nbd__HandshakeIdleTimeout"] = "00:00:02",
    };

    [Fact]
    public async Task Its_memory_stays_bounded_and_another_client_is_served()
    {
        await QemuIoAsync("write -P 0x11 0 1M"); // warm: first connection, pools, JIT
        var idle = Status("VmRSS");
        await using var hog = await RawNbdSession.OpenAsync(Serve.Port, H.VdiskId);
        var payload = new byte[32 * MiB];
        Array.Fill(payload, (byte)0x5a);
        var sending = Task.Run(async () =>
        {
            for (ulong i = 0; i < 64; i++) await hog.SendRequestAsync(1, i, 0, (uint)payload.Length, payload);
        });

        var watch = System.Diagnostics.Stopwatch.StartNew();
        long peak = 0;
        var served = 0;
        while (watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            peak = Math.Max(peak, Status("VmRSS"));
            await QemuIoAsync($"write -P 0x{0x20 + served:x2} 512M 256k", $"read -P 0x{0x20 + served:x2} 512M 256k");
            served++;
        }
        var hwm = Status("VmHWM");
        Output.WriteLine($"idle RSS {idle / MiB} MiB; under load: peak RSS {peak / MiB} MiB, VmHWM {hwm / MiB} MiB; " +
            $"the hog finished sending: {sending.IsCompleted}; qemu-io sessions served meanwhile: {served}");
        Assert.True(served >= 3, $"only {served} qemu-io sessions were served in 10 s next to the hog");
        Assert.True(hwm - idle < GrowthBound, $"RSS grew by {(hwm - idle) / MiB} MiB (VmHWM {hwm / MiB} MiB), over the {GrowthBound / MiB} MiB bound");
        hog.Abort();
    }

    [Fact]
    public async Task A_connection_that_never_negotiates_is_closed()
    {
        await using var silent = await RawNbdSession.ConnectAsync(Serve.Port); // greeting read, flags sent, then nothing
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.True(await silent.ClosedByServerAsync(TimeSpan.FromSeconds(20)), "a connection that sent no option was kept 20 s");
        Output.WriteLine($"closed after {watch.Elapsed.TotalSeconds:0.0} s (idle timeout 2 s)");
        await QemuIoAsync("write -P 0x33 0 4k", "read -P 0x33 0 4k");
    }

    /// <summary>A /proc/&lt;pid&gt;/status field of the server, in bytes.</summary>
    private long Status(string field)
    {
        var line = File.ReadLines($"/proc/{Serve.Pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
