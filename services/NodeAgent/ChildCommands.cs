using ZeroDisk.Contracts;

namespace ZeroDisk.NodeAgent;

/// <summary>The command line of each kind of child, from the agent's templates.</summary>
public sealed class ChildCommands(AgentOptions options)
{
    public ChildSpec NbdServer(string serverId) => Spec(ProcessRole.NbdServer, serverId, options.NbdServerCommand, []);

    public ChildSpec TlogServer(string serverId) => Spec(ProcessRole.TlogServer, serverId, options.TlogServerCommand, []);

    /// <summary>A repair-only NBD server for one vdisk; its id is <c>repair-&lt;vdisk&gt;</c>.</summary>
    public ChildSpec Repair(RepairVdisk job, long epoch) => Spec(ProcessRole.NbdServer, RepairChildId(job.VdiskId), options.RepairCommand,
        new Dictionary<string, string>
        {
            ["vdisk"] = job.VdiskId, ["address"] = job.Address, ["kind"] = job.Kind.ToWire(), ["incident"] = job.Incident,
            ["epoch"] = epoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }) with { ReportsExit = false };

    public static string RepairChildId(string vdiskId) => $"repair-{vdiskId}";

    private ChildSpec Spec(ProcessRole role, string id, string template, Dictionary<string, string> values)
    {
        values["id"] = id;
        values["state"] = options.StateDirectory;
        return new ChildSpec(role, id, CommandTemplate.Expand(template, values));
    }
}
