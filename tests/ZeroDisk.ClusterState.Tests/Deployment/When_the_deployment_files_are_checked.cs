using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ZeroDisk.ClusterState.Tests.Deployment;

/// <summary>
/// docker-compose.yml is validated by Debian's <c>docker-compose config</c> (the compose specification's
/// schema, anchors and variables resolved), and every environment variable it — or a systemd unit in deploy/systemd —
/// sets for a ZeroDisk service is a configuration key that service really reads (<see cref="OptionNames"/>): a
/// misspelt option is otherwise ignored without a word, and the default silently used.
/// </summary>
public sealed partial class When_the_deployment_files_are_checked
{
    private static readonly string Configuration = AppContext.BaseDirectory.Contains("/bin/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
    private static readonly string Compose = Path.Combine(RepoPaths.Root, "docker-compose.yml");
    private static readonly Dictionary<string, string> Credentials = new()
    {
        ["RABBITMQ_USER"] = "zerodisk", ["RABBITMQ_PASSWORD"] = "secret", ["ZD_ADMIN_TOKEN"] = "token",
    };

    [Fact]
    public async Task The_compose_file_is_valid_and_sets_only_variables_its_services_read()
    {
        var config = await ComposeConfigAsync();
        var services = config["services"]!.AsObject();
        var checkedVariables = new List<string>();
        foreach (var (name, service) in services)
        {
            if (service!["build"]?["args"]?["SERVICE"]?.GetValue<string>() is not { } kind) continue; // an image of its own (RabbitMQ, etcd, …)
            var options = OptionsOf(kind);
            foreach (var (variable, _) in service["environment"]?.AsObject() ?? [])
            {
                Assert.True(options.Knows(variable), $"{name} sets {variable}, which {kind} does not read (known: {string.Join(", ", options.Keys.Order())})");
                checkedVariables.Add($"{name}:{variable}");
            }
        }
        Assert.Contains("clusterstate:ClusterState__AdminToken", checkedVariables);
        Assert.Contains("node1-collector:LogCollector__Node", checkedVariables);
        Assert.Contains("setup:ZD_ADMIN_TOKEN", checkedVariables);

        // Published ports on the host's loopback only; NBD on each node's own port.
        foreach (var (name, service) in services)
            foreach (var port in service!["ports"]?.AsArray() ?? [])
                Assert.True(port!.GetValue<string>().StartsWith("127.0.0.1:", StringComparison.Ordinal), $"{name} publishes {port} beyond the loopback");
        Assert.Equal("10809", Published(services, "node1-agent"));
        Assert.Equal("10810", Published(services, "node2-agent"));
        foreach (var agent in new[] { "node1-agent", "node2-agent" })
        {
            Assert.True(services[agent]!["init"]?.GetValue<bool>() == true, $"{agent}: its children need an init to reap them");
            var command = string.Join(' ', services[agent]!["command"]!.AsArray().Select(a => a!.GetValue<string>()));
            Assert.Contains("--listen 0.0.0.0:10809", command);
            Assert.Contains("--state-dir /var/lib/zerodisk/agent", command);
            Assert.Contains(services[agent]!["volumes"]!.AsArray(), v => v!.GetValue<string>().Contains(":/var/lib/zerodisk:", StringComparison.Ordinal));
        }

        // Readiness: each service's /health/ready, and what depends on it waits for it.
        foreach (var name in new[] { "clusterstate", "repairscheduler", "node1-collector", "node2-collector", "node1-agent", "node2-agent" })
            Assert.Contains("/health/ready", services[name]!["healthcheck"]!["test"]!.ToJsonString());
        foreach (var (dependency, condition) in services["setup"]!["depends_on"]!.AsObject())
            Assert.True(condition!["condition"]!.GetValue<string>() is "service_healthy",
                $"setup starts before {dependency} is healthy");
        Assert.StartsWith("jaegertracing/jaeger:2.", services["jaeger"]!["image"]!.GetValue<string>());

        // Prometheus scrapes what compose runs: every target is a compose service, on the port its metrics listen on
        // (reachable from another container: not the container's loopback).
        Assert.Contains(services["prometheus"]!["volumes"]!.AsArray(), v => v!.ToJsonString().Contains("deploy/prometheus", StringComparison.Ordinal));
        var targets = ScrapeTarget().Matches(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "deploy", "prometheus", "prometheus.yml")))
            .Select(m => (Host: m.Groups[1].Value, Port: m.Groups[2].Value)).ToList();
        Assert.NotEmpty(targets);
        foreach (var (host, port) in targets)
        {
            Assert.True(services.ContainsKey(host), $"prometheus.yml scrapes {host}, which compose does not run");
            var url = services[host]!["environment"]?["Operations__Url"]?.GetValue<string>();
            var command = string.Join(' ', services[host]!["command"]?.AsArray().Select(a => a!.GetValue<string>()) ?? []);
            Assert.True(url is null || url == $"http://0.0.0.0:{port}" || command.Contains($"--operations-url http://0.0.0.0:{port}", StringComparison.Ordinal),
                $"{host} serves its metrics on {url}, not on port {port} of every interface");
        }
        Assert.Contains(targets, t => t.Host == "repairscheduler" && services["repairscheduler"]!["environment"]?["Operations__Url"] is not null);
        Assert.Contains(targets, t => t.Host == "node2-collector");
        Assert.Contains(targets, t => t.Host == "node1-agent" && t.Port == "5083");
        Assert.Contains(targets, t => t.Host == "node2-agent" && t.Port == "9109"); // its NBD server

        var ignored = await File.ReadAllLinesAsync(Path.Combine(RepoPaths.Root, ".dockerignore"));
        foreach (var pattern in new[] { "run/", "**/bin/", "**/obj/" }) Assert.Contains(pattern, ignored);
    }

    [Fact]
    public async Task Without_its_credentials_the_compose_file_is_refused()
    {
        var result = await ExternalProcess.RunAsync("docker-compose", ["-f", Compose, "config", "-q"], TimeSpan.FromMinutes(2),
            new Dictionary<string, string>(Credentials) { ["RABBITMQ_USER"] = "" });
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("set RABBITMQ_USER", result.StdErr + result.StdOut);
    }

    [Fact]
    public void A_misspelt_option_is_not_a_key_of_the_service()
    {
        var clusterState = OptionsOf("ClusterState");
        Assert.True(clusterState.Knows("ClusterState__AdminToken"));
        Assert.True(clusterState.Knows("RABBITMQ_URI"));
        Assert.True(clusterState.Knows("OTEL_EXPORTER_OTLP_ENDPOINT"));
        Assert.False(clusterState.Knows("ClusterState__AdminTokn"));
        Assert.False(clusterState.Knows("Scheduler__GracePeriod")); // another service's option
        Assert.True(OptionsOf("RepairScheduler").Knows("Scheduler__GracePeriod"));
        Assert.False(OptionsOf("LogCollector").Knows("LogCollector__Nodes"));
    }

    [Fact]
    public async Task The_systemd_units_set_only_variables_their_services_read_and_the_agent_leaves_its_children_running()
    {
        var directory = Path.Combine(RepoPaths.Root, "deploy", "systemd");
        var shared = (await File.ReadAllLinesAsync(Path.Combine(directory, "zerodisk.env")))
            .Where(l => l.Contains('=') && !l.TrimStart().StartsWith('#')).Select(l => l[..l.IndexOf('=')].Trim()).ToList();
        Assert.Equal(["RABBITMQ_URI", "ETCD_ENDPOINTS", "OTEL_EXPORTER_OTLP_ENDPOINT"], shared);
        var units = Directory.GetFiles(directory, "*.service");
        Assert.Equal(4, units.Length);
        foreach (var unit in units)
        {
            var lines = await File.ReadAllLinesAsync(unit);
            var kind = ServiceOfDll().Match(string.Join('\n', lines)).Groups[1].Value switch
            {
                "clusterstate" => "ClusterState", "repairscheduler" => "RepairScheduler", "logcollector" => "LogCollector", "nbdhost" => "NbdHost",
                var other => throw new InvalidOperationException($"{unit} runs '{other}'"),
            };
            var options = OptionsOf(kind);
            Assert.Contains("EnvironmentFile=/etc/zerodisk/zerodisk.env", lines);
            var variables = lines.Where(l => l.StartsWith("Environment=", StringComparison.Ordinal)).Select(l => l["Environment=".Length..].Split('=')[0]).Concat(shared);
            foreach (var variable in variables)
                Assert.True(options.Knows(variable), $"{Path.GetFileName(unit)} sets {variable}, which {kind} does not read");
            if (kind == "NbdHost")
            {
                Assert.Contains("KillMode=process", lines);
                Assert.Contains(lines, l => l.Contains("--listen 0.0.0.0:10809", StringComparison.Ordinal));
            }
        }
    }

    [GeneratedRegex("\"([a-z0-9-]+):([0-9]+)\"")]
    private static partial Regex ScrapeTarget();

    /// <summary>The host port of a service's one published port ("127.0.0.1:10810:10809/tcp" in docker-compose 1.29's output).</summary>
    private static string Published(JsonObject services, string name) =>
        services[name]!["ports"]!.AsArray().Single()!.GetValue<string>().Split(':')[1];

    /// <summary><c>docker-compose config</c> (it validates against the compose schema and resolves anchors and variables), as JSON.</summary>
    private static async Task<JsonObject> ComposeConfigAsync()
    {
        var config = await ExternalProcess.RunAsync("docker-compose", ["-f", Compose, "config"], TimeSpan.FromMinutes(2), Credentials);
        Assert.True(config.ExitCode == 0, $"docker-compose config exited {config.ExitCode}: {config.StdErr}");
        var json = await ExternalProcess.RunAsync("python3", ["-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"], TimeSpan.FromMinutes(1),
            stdin: config.StdOut);
        return JsonNode.Parse(json.EnsureSuccess("yaml to json").StdOut)!.AsObject();
    }

    /// <summary>The keys of one image's service (deploy/Dockerfile's SERVICE), from its built assemblies.</summary>
    private static OptionNames OptionsOf(string kind) => kind switch
    {
        "ClusterState" => OptionNames.Of(Path.Combine(AppContext.BaseDirectory, "clusterstate.dll")),
        "NbdHost" => OptionNames.Of(Path.Combine(AppContext.BaseDirectory, "nbdhost.dll")),
        "LogCollector" => OptionNames.Of(Path.Combine(AppContext.BaseDirectory, "logcollector.dll")),
        "RepairScheduler" => OptionNames.Of(Built("services", "RepairScheduler", "repairscheduler.dll")),
        // zdctl's variables, and those deploy/setup.sh reads itself.
        "Setup" => OptionNames.Of(Built("tools", "Zdctl", "zdctl.dll"),
            [.. ShellVariable().Matches(File.ReadAllText(Path.Combine(RepoPaths.Root, "deploy", "setup.sh"))).Select(m => m.Groups[1].Value)]),
        _ => throw new InvalidOperationException($"no service '{kind}' in deploy/Dockerfile"),
    };

    private static string Built(string folder, string project, string dll)
    {
        var path = Path.Combine(RepoPaths.Root, folder, project, "bin", Configuration, "net10.0", dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"build {folder}/{project} first", path);
    }

    [GeneratedRegex(@"\$\{([A-Z][A-Z0-9_]*)")]
    private static partial Regex ShellVariable();

    [GeneratedRegex(@"/([a-z]+)\.dll")]
    private static partial Regex ServiceOfDll();
}
