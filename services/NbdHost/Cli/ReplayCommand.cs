using System.CommandLine;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.Storage.Ownership;
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
        var secretFile = new Option<string?>("--secret-file") { Description = $"the tlog cluster's shared secret (default: ${TlogSecret.FileKey}, else none)" };
        var claimSource = new Option<bool>("--claim-source") { Description = "claim the source vdisk's owner key while reading and present its epoch (tlog servers that check owner epochs serve only the current owner); the vdisk must not be served" };
        var command = new Command("replay", "Rebuild a vdisk from its tlog, optionally up to a point in time") { tlog, vdisk, to, etcd, size, blockSize, until, secretFile, claimSource };
        command.SetAction(async (parse, ct) =>
        {
            using var logging = StderrLogging.Create();
            var logger = logging.CreateLogger("replay");
            var servers = parse.GetValue(tlog)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var target = parse.GetValue(to)!;
            var limit = ReplayLimit.Parse(parse.GetValue(until));
            var credentials = new TlogCredentials(TlogSecret.FromFileOrNone(parse.GetValue(secretFile) ?? Environment.GetEnvironmentVariable(TlogSecret.FileKey)), 0);
            var etcdEndpoints = parse.GetValue(etcd) ?? Environment.GetEnvironmentVariable(EtcdExtensions.EndpointsKey);
            var source = parse.GetValue(vdisk)!;
            var intoItself = target == StorageTarget + source; // the storage replay's own claim is the source's
            await using var claim = parse.GetValue(claimSource) && !intoItself
                ? await ClaimAsync(etcdEndpoints ?? throw new InvalidOperationException("--claim-source needs --etcd or ETCD_ENDPOINTS"), source, logger, ct)
                : null;
            if (claim is not null) credentials = credentials with { Epoch = claim.Owner.Epoch };
            var result = target.StartsWith(StorageTarget, StringComparison.Ordinal)
                ? await TlogReplayToStorage.RunAsync(servers, source, target[StorageTarget.Length..],
                    etcdEndpoints ?? throw new InvalidOperationException("--etcd or ETCD_ENDPOINTS is required for a storage target"),
                    limit, credentials, logging, ct)
                : await TlogReplay.ToImageFileAsync(servers, source, target, parse.GetValue(size), parse.GetValue(blockSize), limit, credentials, logger, ct);
            logger.LogInformation("replayed {Applied} of {Records} records (last {Last}) from {Read} servers, {Unreachable} unreachable, {Conflicts} conflicts",
                result.Applied, result.Records, result.LastApplied?.ToString() ?? "none", result.ServersRead, result.ServersUnreachable, result.Conflicts);
            return result.Conflicts == 0 ? 0 : 3;
        });
        return command;
    }

    /// <summary>The source vdisk's owner key (kind repair) for the duration of the read: its epoch is what the tlog servers check.</summary>
    private static async Task<VdiskOwnerClaim> ClaimAsync(string etcdEndpoints, string vdiskId, ILogger logger, CancellationToken ct)
    {
        var etcd = new EtcdGrpc(etcdEndpoints); // lives as long as the process: the claim's keep-alive uses it
        var (claim, holder) = await VdiskOwnership.TryClaimAsync(etcd, vdiskId, $"replay@{Environment.MachineName}", VdiskOwnerKind.Repair,
            TimeSpan.FromSeconds(10), logger, ct);
        return claim ?? throw new InvalidOperationException($"vdisk {vdiskId} is owned by {holder?.Server} ({holder?.Kind.ToWire()}); its tlog can be read only by its owner");
    }
}
