using System.CommandLine;
using ZeroDisk.Zdctl.Cli;
using ZeroDisk.Zdctl.Follow;
using ZeroDisk.Zdctl.Health;
using ZeroDisk.Zdctl.Outages;
using ZeroDisk.Zdctl.Setup;
using ZeroDisk.Zdctl.Status;
using ZeroDisk.Zdctl.Vdisks;

var globals = new GlobalOptions();
var root = new RootCommand("zdctl: the ZeroDisk operator's CLI (status, incidents, outages, vdisks, setting up clusters and servers)")
{
    StatusCommand.Create(globals),
    HealthCommand.Create(globals),
    FollowCommand.Create(globals),
    OutageCommand.Create(globals),
    VdiskCommand.Create(globals),
    ClusterCommand.Create(globals),
    ClusterCommand.Tlog(globals),
    ServerCommand.NbdServer(globals),
    ServerCommand.TlogServer(globals),
};
globals.AddTo(root);

var parse = root.Parse(args);
return parse.Errors.Count > 0 ? ZdctlAction.ReportParseErrors(parse) : await parse.InvokeAsync();
