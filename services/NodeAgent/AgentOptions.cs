namespace ZeroDisk.NodeAgent;

/// <summary>
/// Settings of one node agent. Command templates are split on spaces; <c>{self}</c> is this nbdhost executable,
/// <c>{id}</c> the child's id, <c>{state}</c> the state directory; repair templates also get <c>{vdisk}</c>,
/// <c>{address}</c>, <c>{kind}</c>, <c>{incident}</c> and <c>{epoch}</c>; the VM hook gets <c>{server}</c>
/// (appended as the last argument when the template does not name it).
/// </summary>
public sealed record AgentOptions
{
    /// <summary>Where the agent answers /health/live, /health/ready and /metrics unless Operations:Url says otherwise.</summary>
    public const string DefaultOperationsUrl = "http://127.0.0.1:5083";

    public required string Node { get; init; }
    public required string LogDirectory { get; init; }
    public required string StateDirectory { get; init; }
    public required string EtcdEndpoints { get; init; }
    public string StorageAddress { get; init; } = "";
    public string? VmHook { get; init; }
    public string NbdServerCommand { get; init; } = "{self} serve --id {id}";
    /// <summary>A tlog server's id is the address it listens on.</summary>
    public string TlogServerCommand { get; init; } = "{self} tlog --id {id} --listen {id} --data {state}/tlog-data";
    public string RepairCommand { get; init; } = "{self} serve --repair {vdisk} --engine {address} --kind {kind} --incident {incident} --epoch {epoch}";
    /// <summary>TTL of a repair job's owner lease: how long after its agent dies a job can be taken over.</summary>
    public TimeSpan RepairLeaseTtl { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan RegistrationTtl { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How long a started NBD server has to take ownership of its vdisks before the VM hook is given up.</summary>
    public TimeSpan ServeTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>How often a queued start looks whether the repair holding its vdisk has ended.</summary>
    public TimeSpan RepairPollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    public string QueueName => $"agent-{Node}";
    public string RepairOwnerName => $"repair@{Node}";
}
