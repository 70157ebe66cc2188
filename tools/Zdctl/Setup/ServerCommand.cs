using System.CommandLine;
using ZeroDisk.Contracts;
using ZeroDisk.Contracts.Admin;
using ZeroDisk.Zdctl.Cli;

namespace ZeroDisk.Zdctl.Setup;

/// <summary>
/// <c>zdctl nbdserver assign|unassign|start</c> and <c>zdctl tlogserver start</c> through the admin API: which vdisks an
/// NBD server exports, and (re)starting a server through its node's agent.
/// </summary>
public static class ServerCommand
{
    public static Command NbdServer(GlobalOptions globals)
    {
        var assign = Exports(globals, "assign", "export a vdisk from an NBD server (a running server serves it at once)",
            (admin, server, vdisk, ct) => admin.PostAsync(ExportPath(server, vdisk), new { }, ct));
        var unassign = Exports(globals, "unassign", "stop exporting a vdisk from an NBD server (it releases the vdisk's owner key)",
            (admin, server, vdisk, ct) => admin.DeleteAsync(ExportPath(server, vdisk), ct));

        var server = ClusterCommand.Id("the NBD server id");
        var node = Node();
        var start = new Command("start", "(re)start an NBD server through its node's agent") { server, node };
        start.SetZdctlAction(globals, async (parse, context, ct) =>
            AdminReplyOutput.Report(await context.Admin().PostAsync($"/nbdservers/{Uri.EscapeDataString(parse.GetValue(server)!)}/start",
                new StartServerRequest(parse.GetValue(node)!), ct)));
        return new Command("nbdserver", "NBD servers: their vdisks, starting them") { assign, unassign, start };
    }

    public static Command TlogServer(GlobalOptions globals)
    {
        var address = new Argument<string>("address") { Description = "the tlog server, host:port (its id)" };
        address.Validators.Add(result =>
        {
            if (!ConfigValidation.IsHostPort(result.GetValue(address))) result.AddError($"'{result.GetValue(address)}' must be host:port");
        });
        var node = Node();
        var start = new Command("start", "(re)start a tlog server through its node's agent") { address, node };
        start.SetZdctlAction(globals, async (parse, context, ct) =>
            AdminReplyOutput.Report(await context.Admin().PostAsync($"/tlogservers/{Uri.EscapeDataString(parse.GetValue(address)!)}/start",
                new StartServerRequest(parse.GetValue(node)!), ct)));
        return new Command("tlogserver", "tlog servers: starting them") { start };
    }

    private static Command Exports(GlobalOptions globals, string name, string description, Func<AdminClient, string, string, CancellationToken, Task<AdminReply>> call)
    {
        var server = ClusterCommand.Id("the NBD server id");
        var vdisk = new Argument<string>("vdisk") { Description = "the vdisk id" };
        var command = new Command(name, description) { server, vdisk };
        command.SetZdctlAction(globals, async (parse, context, ct) => AdminReplyOutput.Report(await call(context.Admin(), parse.GetValue(server)!, parse.GetValue(vdisk)!, ct)));
        return command;
    }

    private static string ExportPath(string server, string vdisk) => $"/nbdservers/{Uri.EscapeDataString(server)}/vdisks/{Uri.EscapeDataString(vdisk)}";

    private static Option<string> Node() => new("--node") { Description = "the node whose agent runs the server", Required = true };
}
