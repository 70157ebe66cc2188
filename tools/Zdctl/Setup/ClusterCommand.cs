using System.CommandLine;
using ZeroDisk.Contracts;
using ZeroDisk.Contracts.Admin;
using ZeroDisk.Zdctl.Cli;

namespace ZeroDisk.Zdctl.Setup;

/// <summary>
/// <c>zdctl cluster create|add-engine|replace-engine</c> and <c>zdctl tlog create</c> through the admin API: the engines'
/// identity markers are written on the engines and in etcd in the same step as the cluster config.
/// </summary>
public static class ClusterCommand
{
    public static Command Create(GlobalOptions globals) =>
        new("cluster", "set up storage clusters: create one from its engines, add or replace an engine")
        {
            CreateCommand(globals), AddEngineCommand(globals), ReplaceEngineCommand(globals),
        };

    public static Command Tlog(GlobalOptions globals)
    {
        var id = Id("the tlog cluster id");
        var servers = new Argument<string[]>("servers") { Description = "its tlog servers, host:port", Arity = ArgumentArity.OneOrMore };
        servers.Validators.Add(result => HostPorts(result, result.GetValue(servers)));
        var create = new Command("create", "create a tlog cluster (the servers a vdisk's writes are journalled to)") { id, servers };
        create.SetZdctlAction(globals, async (parse, context, ct) =>
            AdminReplyOutput.Report(await context.Admin().PostAsync("/tlogclusters", new CreateTlogClusterRequest(parse.GetValue(id)!, parse.GetValue(servers)!), ct)));
        return new Command("tlog", "set up tlog clusters") { create };
    }

    private static Command CreateCommand(GlobalOptions globals)
    {
        var id = Id("the storage cluster id");
        var engines = new Argument<string[]>("engines") { Description = "its engines, host:port, in shard order", Arity = ArgumentArity.OneOrMore };
        engines.Validators.Add(result => HostPorts(result, result.GetValue(engines)));
        var db = Db();
        var create = new Command("create", "create a storage cluster: write each engine's identity marker (refused if it holds another cluster's marker or any data), "
                                           + "then register the markers and the cluster in etcd") { id, engines, db };
        create.SetZdctlAction(globals, async (parse, context, ct) =>
            AdminReplyOutput.Report(await context.Admin().PostAsync("/clusters", new CreateStorageClusterRequest(parse.GetValue(id)!, parse.GetValue(engines)!, parse.GetValue(db)), ct)));
        return create;
    }

    private static Command AddEngineCommand(GlobalOptions globals)
    {
        var id = Id("the storage cluster id");
        var engine = Engine("engine", "the new engine, host:port (the cluster's next shard)");
        var db = Db();
        var add = new Command("add-engine", "add an engine as the next shard (only while no vdisk uses the cluster)") { id, engine, db };
        add.SetZdctlAction(globals, async (parse, context, ct) =>
            AdminReplyOutput.Report(await context.Admin().PostAsync($"/clusters/{Uri.EscapeDataString(parse.GetValue(id)!)}/engines",
                new AddEngineRequest(parse.GetValue(engine)!, parse.GetValue(db)), ct)));
        return add;
    }

    private static Command ReplaceEngineCommand(GlobalOptions globals)
    {
        var id = Id("the storage cluster id");
        var old = Engine("old-engine", "the engine to replace, host:port");
        var engine = Engine("new-engine", "the engine that takes its shard, host:port");
        var db = Db();
        var replace = new Command("replace-engine", "give a shard another engine (only while no vdisk uses the cluster)") { id, old, engine, db };
        replace.SetZdctlAction(globals, async (parse, context, ct) =>
            AdminReplyOutput.Report(await context.Admin().PostAsync(
                $"/clusters/{Uri.EscapeDataString(parse.GetValue(id)!)}/engines/{Uri.EscapeDataString(parse.GetValue(old)!)}/replace",
                new ReplaceEngineRequest(parse.GetValue(engine)!, parse.GetValue(db)), ct)));
        return replace;
    }

    internal static Argument<string> Id(string description)
    {
        var id = new Argument<string>("id") { Description = description };
        id.Validators.Add(result =>
        {
            if (!ConfigValidation.IsValidId(result.GetValue(id))) result.AddError($"id '{result.GetValue(id)}' must be 1-128 letters, digits, '-', '_' or '.'");
        });
        return id;
    }

    private static Argument<string> Engine(string name, string description)
    {
        var engine = new Argument<string>(name) { Description = description };
        engine.Validators.Add(result => HostPorts(result, [result.GetValue(engine)]));
        return engine;
    }

    private static Option<int> Db() => new("--db") { Description = "the Redis database number on the engine(s)", DefaultValueFactory = _ => 0 };

    private static void HostPorts(System.CommandLine.Parsing.ArgumentResult result, string?[]? addresses)
    {
        foreach (var address in addresses ?? [])
            if (!ConfigValidation.IsHostPort(address)) result.AddError($"'{address}' must be host:port");
    }
}
