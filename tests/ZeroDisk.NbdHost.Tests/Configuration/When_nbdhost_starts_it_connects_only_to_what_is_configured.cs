using System.Globalization;
using System.Net;
using ZeroDisk.Contracts;
using ZeroDisk.Storage.Ownership;
using ZeroDisk.Testing;

namespace ZeroDisk.NbdHost.Tests.Configuration;

/// <summary>
/// No phone-home (MassTransit's usage telemetry is off in the one bus wiring of ServiceDefaults): <c>nbdhost agent</c>,
/// a bus client, is started and its sockets are watched through start-up until it has registered and a few seconds
/// more — every socket inode in <c>/proc/&lt;pid&gt;/fd</c> looked up in <c>/proc/&lt;pid&gt;/net/tcp</c>, <c>tcp6</c>,
/// <c>udp</c> and <c>udp6</c>, every few milliseconds. Every connection it opens must go to loopback, to the broker or
/// etcd it was given; a connected UDP socket (a DNS lookup) fails the test. The control checks the watch sees the
/// broker and etcd connections. (The control-plane services are traced with strace in ClusterState.Tests, which also
/// sees sockets too short-lived for a poll.) MassTransit's own report would leave only 5 minutes after the bus
/// started (its UsageTracker waits <c>ReportDelay</c>, default 5 min), later than any start-up watch: so the wiring
/// is checked where it is decided, in the bus's options, with the vendor's environment variable set to turn it on.
/// </summary>
public sealed class When_nbdhost_starts_it_connects_only_to_what_is_configured
{
    [Fact]
    public void The_shared_bus_wiring_turns_massTransit_usage_telemetry_off_whatever_the_environment_says()
    {
        const string Variable = "MASSTRANSIT_USAGE_TELEMETRY";
        var before = Environment.GetEnvironmentVariable(Variable);
        Environment.SetEnvironmentVariable(Variable, "true"); // an operator's environment, or an image's, asking for it
        try
        {
            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
            builder.Configuration["RABBITMQ_URI"] = "amqp://guest:guest@127.0.0.1:1/";
            ZeroDisk.ServiceDefaults.Messaging.MessagingExtensions.AddMessaging(builder);
            using var host = builder.Build();
            var options = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
                .GetRequiredService<Microsoft.Extensions.Options.IOptions<MassTransit.UsageTelemetryOptions>>(host.Services).Value;
            Assert.False(options.Enabled, "MassTransit usage telemetry is on");
            Assert.Equal("false", Environment.GetEnvironmentVariable(Variable)); // MassTransit reads it again when the bus is built
        }
        finally
        {
            Environment.SetEnvironmentVariable(Variable, before);
        }
    }

    [Fact]
    public async Task The_agent_connects_to_its_broker_and_etcd_only()
    {
        var infra = await SharedInfrastructure.GetAsync();
        var node = TestNames.Unique("node");
        var root = Directory.CreateTempSubdirectory("zd-connects-").FullName;
        var operationsPort = FreePort.Next();
        var environment = new Dictionary<string, string>(infra.ToEnvironment()) { ["Operations__Url"] = $"http://127.0.0.1:{operationsPort}" };
        using var etcd = new EtcdGrpc(infra.EtcdEndpoints);
        var started = DateTimeOffset.UtcNow;
        var seen = new Dictionary<(IPAddress Address, int Port, string Protocol), int>();
        await using (var agent = BackgroundProcess.Start("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "nbdhost.dll"), "agent", "--node", node, "--log-dir", Path.Combine(root, "log"), "--etcd", infra.EtcdEndpoints], environment))
        {
            var pid = agent.Process.Id;
            var registeredAt = (DateTimeOffset?)null;
            var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(90);
            while (DateTimeOffset.UtcNow < deadline && (registeredAt is null || DateTimeOffset.UtcNow - registeredAt < TimeSpan.FromSeconds(5)))
            {
                Assert.False(agent.Process.HasExited, $"the agent exited: {agent.StdErr}");
                foreach (var remote in SocketWatch.Remotes(pid)) seen[remote] = seen.GetValueOrDefault(remote) + 1;
                if (registeredAt is null && await etcd.GetAsync<AgentRegistration>(EtcdKeys.Agent(node), CancellationToken.None) is { } r && r.Value.HeartbeatAt >= started)
                    registeredAt = DateTimeOffset.UtcNow;
                await Task.Delay(5);
            }
            Assert.True(registeredAt is not null, $"the agent did not register: {agent.StdErr}");
        }
        await etcd.Kv.DeleteRangeAsync(new Etcdserverpb.DeleteRangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8(EtcdKeys.Agent(node)) });
        Directory.Delete(root, recursive: true);

        var configured = infra.EtcdEndpoints.Split(',').Select(e => new Uri(e).Port).Append(infra.RabbitMqUri.Port).ToHashSet();
        Assert.Contains(seen.Keys, s => s.Port == infra.RabbitMqUri.Port); // the control: the watch sees what the agent does
        Assert.Contains(seen.Keys, s => configured.Contains(s.Port) && s.Port != infra.RabbitMqUri.Port);
        var stray = seen.Keys.Where(s => s.Protocol.StartsWith("udp", StringComparison.Ordinal) || !IPAddress.IsLoopback(s.Address) || !configured.Contains(s.Port)).ToList();
        Assert.True(stray.Count == 0, $"connections to what is not configured: {string.Join(", ", stray.Select(s => $"{s.Protocol} {s.Address}:{s.Port}"))}");
    }
}

/// <summary>The remote ends of a process's connected sockets, read from /proc (the process's socket inodes matched in its namespace's tables).</summary>
internal static class SocketWatch
{
    public static IEnumerable<(IPAddress Address, int Port, string Protocol)> Remotes(int pid)
    {
        var inodes = new HashSet<string>();
        try
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                try
                {
                    if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal)) inodes.Add(target[8..^1]);
                }
                catch (IOException) { } // closed meanwhile
            }
        }
        catch (Exception ex) when (ex is DirectoryNotFoundException or IOException or UnauthorizedAccessException) { yield break; }
        foreach (var protocol in new[] { "tcp", "tcp6", "udp", "udp6" })
        {
            string[] lines;
            try { lines = File.ReadAllLines($"/proc/{pid}/net/{protocol}"); }
            catch (IOException) { continue; }
            foreach (var line in lines.Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 10 || !inodes.Contains(fields[9])) continue;
                var (address, port) = Endpoint(fields[2]);
                if (port == 0) continue; // listening or unconnected
                yield return (address, port, protocol);
            }
        }
    }

    /// <summary>"0100007F:1F90" (IPv4, little-endian words) or 32 hex digits (IPv6, four little-endian words).</summary>
    private static (IPAddress, int) Endpoint(string field)
    {
        var (hex, port) = (field[..field.IndexOf(':')], int.Parse(field[(field.IndexOf(':') + 1)..], NumberStyles.HexNumber));
        var bytes = Convert.FromHexString(hex);
        for (var word = 0; word < bytes.Length; word += 4) Array.Reverse(bytes, word, 4);
        var address = new IPAddress(bytes);
        return (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port);
    }
}
