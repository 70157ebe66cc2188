using System.Net;

namespace ZeroDisk.ClusterState.Tests.Operability;

/// <summary>
/// Every long-running service answers /health/live while a dependency is down, and /health/ready says
/// 503 naming the check that fails: ClusterState and the scheduler without etcd, the scheduler (whose start waits for
/// its broker), the collector and a node agent without RabbitMQ. The broker's password in RABBITMQ_URI appears neither in
/// the health answer nor in the service's output.
/// </summary>
public sealed class When_a_service_cannot_reach_its_bus_or_etcd
{
    private const string Password = "s3cret-pw-7f1c";

    [Fact]
    public async Task It_stays_live_and_reports_not_ready_naming_the_dependency_without_showing_secrets()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        var deadEtcd = $"http://127.0.0.1:{FreePort.Next()}";
        var deadBroker = $"amqp://zerodisk:{Password}@127.0.0.1:{FreePort.Next()}/";
        var good = deployment.VirtualHost.Uri.ToString();

        var clusterStateUrl = $"http://127.0.0.1:{FreePort.Next()}";
        var schedulerWithoutEtcd = FreePort.Next();
        var schedulerWithoutBroker = FreePort.Next();
        var collectorWithoutBroker = FreePort.Next();
        var agentWithoutBroker = FreePort.Next();
        await using var clusterState = BackgroundProcess.Start("dotnet",
            [ServiceProcesses.Dll("ClusterState", "clusterstate"), .. ClusterStateInstance.Arguments(new Uri(clusterStateUrl), deployment.Endpoints with { EtcdEndpoints = deadEtcd }, deployment.VirtualHost.Uri, deployment.Scope)]);
        await using var scheduler1 = StartScheduler(good, deadEtcd, schedulerWithoutEtcd, deployment.Scope + "-a");
        await using var scheduler2 = StartScheduler(deadBroker, deployment.Endpoints.EtcdEndpoints, schedulerWithoutBroker, deployment.Scope + "-b");
        await using var collector = ServiceProcesses.StartCollector(deadBroker, collectorWithoutBroker, TestNames.Unique("node"));
        await using var agent = StartAgent(deadBroker, deployment.Endpoints.EtcdEndpoints, agentWithoutBroker);

        var cases = new (string Url, string What, BackgroundProcess Process, string Failing)[]
        {
            (clusterStateUrl, "clusterstate without etcd", clusterState, "etcd"),
            ($"http://127.0.0.1:{schedulerWithoutEtcd}", "repairscheduler without etcd", scheduler1, "etcd"),
            ($"http://127.0.0.1:{schedulerWithoutBroker}", "repairscheduler without its broker", scheduler2, "masstransit-bus"),
            ($"http://127.0.0.1:{collectorWithoutBroker}", "logcollector without its broker", collector, "masstransit-bus"),
            ($"http://127.0.0.1:{agentWithoutBroker}", "nbdhost agent without its broker", agent, "masstransit-bus"),
        };
        foreach (var (url, what, process, failing) in cases)
        {
            var ready = await ServiceProcesses.WaitForHealthAsync(url, HttpStatusCode.ServiceUnavailable, what, process);
            Assert.Equal("Unhealthy", ready.GetProperty("status").GetString());
            Assert.NotEqual("Healthy", ServiceProcesses.Check(ready, failing).GetProperty("status").GetString());
            Assert.DoesNotContain(Password, ready.ToString());
        }

        // The same services with everything reachable are ready: the 503s above were about the dependency.
        await using var healthy = StartScheduler(good, deployment.Endpoints.EtcdEndpoints, FreePort.Next(), deployment.Scope + "-c", out var healthyUrl);
        var fine = await ServiceProcesses.WaitForHealthAsync(healthyUrl, HttpStatusCode.OK, "repairscheduler with etcd and its broker", healthy);
        Assert.Equal("Healthy", ServiceProcesses.Check(fine, "etcd").GetProperty("status").GetString());
        Assert.Equal("Healthy", ServiceProcesses.Check(fine, "masstransit-bus").GetProperty("status").GetString());
        var agentPort = FreePort.Next();
        await using var healthyAgent = StartAgent(good, deployment.Endpoints.EtcdEndpoints, agentPort);
        var agentFine = await ServiceProcesses.WaitForHealthAsync($"http://127.0.0.1:{agentPort}", HttpStatusCode.OK, "nbdhost agent with etcd and its broker", healthyAgent);
        Assert.Equal("Healthy", ServiceProcesses.Check(agentFine, "etcd").GetProperty("status").GetString());
        var agentMetrics = await ServiceProcesses.GetAsync($"http://127.0.0.1:{agentPort}/metrics");
        Assert.True(agentMetrics is { Status: HttpStatusCode.OK }, "the agent answers /metrics");

        await Task.Delay(TimeSpan.FromSeconds(2)); // let the services log their connection failures
        foreach (var (_, what, process, _) in cases)
            Assert.False(process.StdOut.Contains(Password) || process.StdErr.Contains(Password), $"{what} printed the broker's password:\n{process.StdOut}{process.StdErr}");
    }

    /// <summary>A node agent (its state and log directories fresh and empty) with its operations endpoint on <paramref name="operationsPort"/>.</summary>
    private static BackgroundProcess StartAgent(string rabbitMq, string etcd, int operationsPort)
    {
        var directory = Directory.CreateTempSubdirectory("zd-agent-").FullName;
        return BackgroundProcess.Start("dotnet",
            [ServiceProcesses.Dll("NbdHost", "nbdhost"), "agent", "--node", TestNames.Unique("node"), "--log-dir", Path.Combine(directory, "logs"),
             "--state-dir", Path.Combine(directory, "state"), "--etcd", etcd],
            new Dictionary<string, string>
            {
                ["RABBITMQ_URI"] = rabbitMq,
                ["Operations__Url"] = $"http://127.0.0.1:{operationsPort}",
            });
    }

    private static BackgroundProcess StartScheduler(string rabbitMq, string etcd, int operationsPort, string prefix) =>
        StartScheduler(rabbitMq, etcd, operationsPort, prefix, out _);

    private static BackgroundProcess StartScheduler(string rabbitMq, string etcd, int operationsPort, string prefix, out string url)
    {
        url = $"http://127.0.0.1:{operationsPort}";
        return BackgroundProcess.Start("dotnet", [ServiceProcesses.Dll("RepairScheduler", "repairscheduler")], new Dictionary<string, string>
        {
            ["RABBITMQ_URI"] = rabbitMq,
            ["ETCD_ENDPOINTS"] = etcd,
            ["Scheduler__EndpointPrefix"] = prefix,
            ["Operations__Url"] = url,
            ["Logging__LogLevel__Default"] = "Information",
        });
    }
}
