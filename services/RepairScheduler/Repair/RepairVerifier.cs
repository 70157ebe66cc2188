using dotnet_etcd;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.RepairScheduler.Repair;

/// <summary>
/// The repair's verification (the dirty set is the truth, so a repair is done only when none is left), run when every affected vdisk reported completion. Temporary outage: no
/// <c>dirty:*:&lt;engine&gt;</c> may remain on any engine of the clusters the affected vdisks use. Final outage:
/// every block of the dead shard, enumerated (HSCAN) on the surviving side, must be present on the primary and the
/// slave engine of its new home (<see cref="ShardPlacement"/> with the shard counted as rip). Presence, not equal
/// content: once a vdisk's respread is done its writes go to the new home only, so the old side may be older — and
/// its trims too, so a vdisk whose respread its owner recorded done is not sent back for a block absent there.
/// An engine that should be scanned but does not answer makes the verdict unclean with no leftover vdisk: nothing
/// to repair again, ClusterState's reconciler asks again later.
/// </summary>
public sealed class RepairVerifier(EtcdClient etcd, IOptions<SchedulerOptions> options, ILogger<RepairVerifier> logger)
{
    private const int Page = 256;

    public async Task<RepairVerified> VerifyAsync(RepairVerificationRequested request, CancellationToken ct)
    {
        await using var engines = new EngineConnections(options.Value.ProbeTimeout);
        var affected = request.Vdisks.ToHashSet(StringComparer.Ordinal);
        var leftover = new SortedSet<string>(StringComparer.Ordinal);
        var problems = new List<string>();
        var layouts = new List<VdiskLayout>();
        foreach (var vdisk in request.Vdisks)
            if (await VdiskLayout.ReadAsync(etcd, vdisk, request.Address, ct) is { } layout) layouts.Add(layout);

        if (request.Kind == RepairKind.Tmp) await ScanDirtySetsAsync(request.Address, layouts, engines, affected, leftover, problems, ct);
        else
            foreach (var layout in layouts)
                if (await FirstBlockNotAtItsNewHomeAsync(layout, engines, problems, ct) is { } missing)
                {
                    if (await IsRecordedDoneAsync(layout, engines, ct))
                    {
                        // Its owner finished and switched to the new homes: a trim since deleted the block there only.
                        logger.LogInformation("Verify {Address}: block {Block} of vdisk {Vdisk} is not at its new home, but the vdisk's respread is recorded done on its surviving side: trimmed there since, not left behind",
                            request.Address, missing, layout.VdiskId);
                        continue;
                    }
                    leftover.Add(layout.VdiskId);
                    logger.LogWarning("Verify {Address}: block {Block} of vdisk {Vdisk} is not at its new home", request.Address, missing, layout.VdiskId);
                }

        var clean = leftover.Count == 0 && problems.Count == 0;
        var reason = clean
            ? request.Kind == RepairKind.Tmp
                ? $"no dirty:*:{request.Address} on {engines.Scanned} engine(s)"
                : $"every block of the dead shard of {layouts.Count} vdisk(s) is at its new home"
            : string.Join("; ", problems.Prepend(leftover.Count == 0 ? "" : $"not repaired: {string.Join(", ", leftover)}").Where(p => p.Length > 0));
        return new RepairVerified { Address = request.Address, Incident = request.Incident, Clean = clean, LeftoverVdisks = [.. leftover], Reason = reason };
    }

    private async Task ScanDirtySetsAsync(string address, IReadOnlyList<VdiskLayout> layouts, EngineConnections engines,
        HashSet<string> affected, SortedSet<string> leftover, List<string> problems, CancellationToken ct)
    {
        var pattern = "dirty:*:" + GlobEscape(address);
        var suffix = ":" + address;
        var scanned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var server in layouts.SelectMany(l => l.Primary.Servers.Concat(l.Slave.Servers)))
        {
            // The engine itself holds no dirty set of its own; a gone engine holds nothing anyone reads any more.
            if (server.Address == address || server.State is EngineState.Rip or EngineState.RepairFinalOutage || !scanned.Add(server.Address)) continue;
            var connection = await engines.ConnectAsync(server.Address, ct);
            if (connection is null)
            {
                // An engine that is down itself is no surviving engine; any other must be scanned.
                if (server.State != EngineState.Offline) problems.Add($"could not scan {server.Address} ({server.State.ToWire()})");
                continue;
            }
            try
            {
                await foreach (var key in connection.GetServer(connection.GetEndPoints()[0]).KeysAsync(server.Db, pattern, pageSize: 1000).WithCancellation(ct))
                {
                    var name = key.ToString();
                    var vdisk = name["dirty:".Length..^suffix.Length];
                    if (affected.Contains(vdisk)) leftover.Add(vdisk);
                    else logger.LogWarning("Verify {Address}: {Key} on {Engine} belongs to no affected vdisk; ignored", address, name, server.Address);
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                problems.Add($"scan of {server.Address} failed: {ex.Message}");
            }
        }
    }

    /// <returns>The first block of the dead shard found missing at its new home, or null when all are there.</returns>
    private static async Task<long?> FirstBlockNotAtItsNewHomeAsync(VdiskLayout layout, EngineConnections engines, List<string> problems, CancellationToken ct)
    {
        var n = layout.Primary.Servers.Count;
        if (layout.Slave.Servers.Count != n)
        {
            problems.Add($"vdisk {layout.VdiskId}: primary and slave clusters differ in size");
            return null;
        }
        var rip = Enumerable.Range(0, n).Select(k => layout.Primary.Servers[k].State == EngineState.Rip || layout.Slave.Servers[k].State == EngineState.Rip).ToArray();
        var withDead = (bool[])rip.Clone();
        withDead[layout.Shard] = true;
        if (withDead.All(r => r))
        {
            problems.Add($"vdisk {layout.VdiskId}: every shard would be rip, its blocks have nowhere to go");
            return null;
        }
        var survivor = layout.Survivor;
        var source = await engines.DatabaseAsync(survivor, ct);
        if (source is null)
        {
            problems.Add($"could not read the surviving side {survivor.Address} of vdisk {layout.VdiskId}");
            return null;
        }
        var key = (RedisKey)$"nondedup:{layout.VdiskId}";
        var page = new List<long>(Page);
        try
        {
            await foreach (var entry in source.HashScanAsync(key, pageSize: Page).WithCancellation(ct))
            {
                if (entry.Name.TryParse(out long block) && ShardPlacement.ShardOf(block, rip) == layout.Shard) page.Add(block);
                if (page.Count < Page) continue;
                if (await FirstMissingAsync(layout, page, withDead, engines, problems, ct) is { } missing) return missing;
                page.Clear();
            }
            return await FirstMissingAsync(layout, page, withDead, engines, problems, ct);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            problems.Add($"reading the surviving side {survivor.Address} of vdisk {layout.VdiskId} failed: {ex.Message}");
            return null;
        }
    }

    /// <summary>
    /// Whether the vdisk's owner recorded its respread done on the surviving side (NbdHost's RespreadRecords:
    /// <c>respread-done:&lt;vdiskID&gt;:&lt;dead engine&gt;</c> = "done " + the dead engine's identity marker, written after
    /// every block moved and before the vdisk's writes go to the new homes only). From then on a trim or write-zeroes of
    /// a moved block deletes it at its new home and leaves the old side's copy: absent at the new home is no leftover.
    /// Redoing such a vdisk would copy the old side's older blocks over the newer ones (fault-check seed 1000).
    /// </summary>
    private async Task<bool> IsRecordedDoneAsync(VdiskLayout layout, EngineConnections engines, CancellationToken ct)
    {
        var dead = layout.DeadIsPrimary ? layout.Primary.Servers[layout.Shard] : layout.Slave.Servers[layout.Shard];
        if (await engines.DatabaseAsync(layout.Survivor, ct) is not { } survivor) return false;
        try
        {
            var record = await survivor.StringGetAsync($"respread-done:{layout.VdiskId}:{dead.Address}");
            if (record.IsNullOrEmpty) return false;
            var marker = (await etcd.GetAsync(EtcdKeys.EngineIdentity(dead.Address), cancellationToken: ct)).Kvs.FirstOrDefault()?.Value.ToStringUtf8() ?? "";
            return record == "done " + marker;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return false;
        }
    }

    private static async Task<long?> FirstMissingAsync(VdiskLayout layout, List<long> blocks, bool[] withDead, EngineConnections engines, List<string> problems, CancellationToken ct)
    {
        var key = (RedisKey)$"nondedup:{layout.VdiskId}";
        foreach (var home in blocks.GroupBy(b => ShardPlacement.ShardOf(b, withDead)))
        {
            var fields = home.Select(b => (RedisValue)b).ToArray();
            foreach (var target in new[] { layout.Primary.Servers[home.Key], layout.Slave.Servers[home.Key] })
            {
                var db = await engines.DatabaseAsync(target, ct);
                if (db is null)
                {
                    problems.Add($"could not read new home {target.Address} of vdisk {layout.VdiskId}");
                    return null;
                }
                var present = await Task.WhenAll(fields.Select(f => db.HashExistsAsync(key, f))); // pipelined
                for (var i = 0; i < present.Length; i++)
                    if (!present[i]) return (long)fields[i];
            }
        }
        return null;
    }

    private static string GlobEscape(string text) =>
        string.Concat(text.Select(c => c is '*' or '?' or '[' or ']' or '\\' ? $"\\{c}" : c.ToString()));

    /// <summary>A vdisk's two clusters and the dead engine's place in them.</summary>
    private sealed record VdiskLayout(string VdiskId, StorageClusterConfig Primary, StorageClusterConfig Slave, bool DeadIsPrimary, int Shard)
    {
        public StorageServerConfig Survivor => DeadIsPrimary ? Slave.Servers[Shard] : Primary.Servers[Shard];

        public static async Task<VdiskLayout?> ReadAsync(EtcdClient etcd, string vdiskId, string deadAddress, CancellationToken ct)
        {
            if (await etcd.GetJsonAsync<VdiskNbdConfig>(EtcdKeys.VdiskNbdConfig(vdiskId), ct) is not { } nbd) return null; // deleted meanwhile
            var primary = (await etcd.GetJsonAsync<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(nbd.Value.StorageClusterID), ct))?.Value;
            var slave = (await etcd.GetJsonAsync<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(nbd.Value.SlaveStorageClusterID), ct))?.Value;
            if (primary is null || slave is null) return null;
            var shard = primary.Servers.ToList().FindIndex(s => s.Address == deadAddress);
            if (shard >= 0) return new(vdiskId, primary, slave, true, shard);
            shard = slave.Servers.ToList().FindIndex(s => s.Address == deadAddress);
            return shard >= 0 ? new(vdiskId, primary, slave, false, shard) : null;
        }
    }
}
