using System.Net;
using System.Text.RegularExpressions;

namespace ZeroDisk.ClusterState.Tests.Operability;

/// <summary>
/// No phone-home: ClusterState, the scheduler and a node's collector are started under <c>strace -e
/// trace=connect</c> (every connect(2) of every thread, successful or not, TCP and UDP, so a DNS lookup of some
/// vendor's host shows too) and run until ready and a few seconds more. Every connection they open goes to an address
/// in their configuration: the broker, etcd, the broker's management API — and the control proves the trace sees
/// those. Nothing reaches a resolver or any address off loopback.
/// </summary>
public sealed partial class When_services_start_they_connect_only_to_what_is_configured
{
    [Fact]
    public async Task Every_connect_goes_to_a_configured_address()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        var endpoints = deployment.Endpoints;
        var rabbit = deployment.VirtualHost.Uri;
        var etcd = new Uri(endpoints.EtcdEndpoints.Split(',')[0]);
        var management = endpoints.RabbitMqManagementUrl;
        var directory = Directory.CreateTempSubdirectory("zd-connects-").FullName;

        var clusterStateUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var schedulerPort = FreePort.Next();
        var collectorPort = FreePort.Next();
        var services = new (string Name, string Dll, string[] Args, Dictionary<string, string> Env, string Health)[]
        {
            ("clusterstate", ServiceProcesses.Dll("ClusterState", "clusterstate"), [.. ClusterStateInstance.Arguments(clusterStateUrl, endpoints, rabbit, deployment.Scope)],
                new() { ["RABBITMQ_MANAGEMENT_URL"] = management?.ToString() ?? "", ["ClusterState__Observer__Interval"] = "00:00:01" }, clusterStateUrl.ToString().TrimEnd('/')),
            ("repairscheduler", ServiceProcesses.Dll("RepairScheduler", "repairscheduler"), [],
                new() { ["RABBITMQ_URI"] = rabbit.ToString(), ["ETCD_ENDPOINTS"] = endpoints.EtcdEndpoints, ["Scheduler__EndpointPrefix"] = deployment.Scope + "-rs", ["Operations__Url"] = $"http://127.0.0.1:{schedulerPort}" },
                $"http://127.0.0.1:{schedulerPort}"),
            ("logcollector", ServiceProcesses.Dll("LogCollector", "logcollector"), [],
                new() { ["RABBITMQ_URI"] = rabbit.ToString(), ["LogCollector__Node"] = TestNames.Unique("node"), ["LogCollector__Directory"] = directory, ["Operations__Url"] = $"http://127.0.0.1:{collectorPort}" },
                $"http://127.0.0.1:{collectorPort}"),
        };

        var processes = new List<(string Name, BackgroundProcess Process, string Trace)>();
        try
        {
            foreach (var (name, dll, args, env, _) in services)
            {
                var trace = Path.Combine(directory, $"{name}.connects");
                processes.Add((name, BackgroundProcess.Start("strace", ["-f", "--seccomp-bpf", "-qq", "-e", "trace=connect", "-o", trace, "dotnet", dll, .. args], env), trace));
            }
            for (var i = 0; i < services.Length; i++)
                await ServiceProcesses.WaitForHealthAsync(services[i].Health, HttpStatusCode.OK, services[i].Name, processes[i].Process);
            await Task.Delay(TimeSpan.FromSeconds(5)); // past start-up: the observer's rounds, the bus's heartbeats
        }
        finally
        {
            foreach (var (_, process, _) in processes) await process.DisposeAsync();
        }

        var configured = new HashSet<int> { rabbit.Port, etcd.Port, management?.Port ?? -1 };
        foreach (var (name, _, trace) in processes)
        {
            var connects = Connects(File.ReadAllLines(trace)).ToList();
            Assert.Contains(connects, c => c.Port == rabbit.Port); // the control: the trace sees what the service does
            var stray = connects.Where(c => !IPAddress.IsLoopback(c.Address) || !configured.Contains(c.Port)).Select(c => $"{c.Address}:{c.Port}").Distinct().ToList();
            Assert.True(stray.Count == 0, $"{name} connected to {string.Join(", ", stray)}, which is not in its configuration");
        }
        Assert.Contains(Connects(File.ReadAllLines(processes[0].Trace)), c => c.Port == etcd.Port);
    }

    /// <summary>The IPv4 and IPv6 destinations of the traced connect(2) calls (Unix sockets are local by nature).</summary>
    private static IEnumerable<(IPAddress Address, int Port)> Connects(IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            if (Inet4().Match(line) is { Success: true } v4) yield return (IPAddress.Parse(v4.Groups["addr"].Value), int.Parse(v4.Groups["port"].Value));
            else if (Inet6().Match(line) is { Success: true } v6) yield return (IPAddress.Parse(v6.Groups["addr"].Value), int.Parse(v6.Groups["port"].Value));
        }
    }

    [GeneratedRegex(@"sa_family=AF_INET, sin_port=htons\((?<port>\d+)\), sin_addr=inet_addr\(""(?<addr>[^""]+)""\)")]
    private static partial Regex Inet4();

    [GeneratedRegex(@"sa_family=AF_INET6, sin6_port=htons\((?<port>\d+)\).*?inet_pton\(AF_INET6, ""(?<addr>[^""]+)""")]
    private static partial Regex Inet6();
}
