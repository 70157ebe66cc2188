using System.CommandLine;
using Microsoft.Extensions.Logging;
using ZeroDisk.Tlog;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Cli;

/// <summary>
/// <c>nbdhost replay --tlog h:p,h:p --vdisk &lt;id&gt; --to &lt;image file&gt; [--size bytes] [--until …]</c>:
/// rebuilds a vdisk (or its state at a point in time) from its tlog into a raw image file.
/// </summary>
public static class ReplayCommand
{
    private const string StorageTarget = "storage:";

    public static Command Create()
    {
        var tlog = new Option<string>("--tlog") { Description = "tlog servers, comma-separated host:port; any subset that holds k copies is enough", Required = true };
        var vdisk = new Option<string>("--vdisk") { Description = "vdisk id", Required = true };
        var to = new Option<string>("--to") { Description = "raw image file to write, or storage:<vdiskID> to write into that vdisk's storage clusters (per etcd)", Required = true };
        var etcd = new Option<string?>("--etcd") { Description = "etcd endpoints for a storage:<vdiskID> target (default: $ETCD_ENDPOINTS)" };
        var size = new Option<long?>("--size") { Description = "image size in bytes (default: up to the highest logged block)" };
        var blockSize = new Option<int?>("--block-size") { Description = "vdisk block size (default: the size of the logged blocks, else 4096)" };
        var until = new Option<string?>("--until") { Description = "stop at a time (ISO 8601), an epoch:sequence, or a sequence of the newest epoch" };
        var command = new Command("replay", "Rebuild a vdisk from its tlog, optionally up to a point in time") { tlog, vdisk, to, etcd, size, blockSize, until };
        command.SetAction(async (parse, ct) =>
        {
            using var logging = StderrLogging.Create();
            var logger = logging.CreateLogger("replay");
            var servers = parse.GetValue(tlog)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var target = parse.GetValue(to)!;
            var limit = ReplayLimit.Parse(parse.GetValue(until));
            var result = target.StartsWith(StorageTarget, StringComparison.Ordinal)
                ? await TlogReplayToStorage.RunAsync(servers, parse.GetValue(vdisk)!, target[StorageTarget.Length..],
                    parse.GetValue(etcd) ?? Environment.GetEnvironmentVariable(EtcdExtensions.EndpointsKey) ?? throw new InvalidOperationException("--etcd or ETCD_ENDPOINTS is required for a storage target"),
                    limit, logging, ct)
                : await TlogReplay.ToImageFileAsync(servers, parse.GetValue(vdisk)!, target, parse.GetValue(size), parse.GetValue(blockSize), limit, logger, ct);
            logger.LogInformation("replayed {Applied} of {Records} records (last {Last}) from {Read} servers, {Unreachable} unreachable, {Conflicts} conflicts",
                result.Applied, result.Records, result.LastApplied?.ToString() ?? "none", result.ServersRead, result.ServersUnreachable, result.Conflicts);
            return result.Conflicts == 0 ? 0 : 3;
        });
        return command;
    }
}
