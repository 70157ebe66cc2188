namespace ZeroDisk.FaultCheck;

/// <summary>A broken promise: what was wrong, and the history that shows it.</summary>
public sealed record Violation(string What, IReadOnlyList<string> Evidence);

/// <summary>
/// Checks what the vdisks read after the run against the history. For every sector: the value must be the one of
/// its last acknowledged operation, or of an operation after that one whose outcome is unknown or failed (it may have
/// landed) — never older data, never zeros nobody wrote, never bytes of another block or op. A writer runs one
/// operation at a time on its own blocks, so a sector's operations form a sequence.
/// </summary>
public static class HistoryChecker
{
    public static List<Violation> CheckBlocks(IReadOnlyList<Op> ops, int vdisk, byte[] image, int blockSize, int blocks)
    {
        var violations = new List<Violation>();
        var sectorsPerBlock = blockSize / SectorContent.SectorSize;
        var byBlock = ops.Where(o => o.Vdisk == vdisk && o.Kind != OpKind.Flush).GroupBy(o => o.Block).ToDictionary(g => g.Key, g => g.OrderBy(o => o.Invoked).ThenBy(o => o.Id).ToList());
        for (long block = 0; block < blocks; block++)
        {
            var history = byBlock.GetValueOrDefault(block) ?? [];
            for (var sector = 0; sector < sectorsPerBlock; sector++)
            {
                var span = image.AsSpan((int)(block * blockSize + sector * SectorContent.SectorSize), SectorContent.SectorSize);
                var found = SectorContent.Decode(span, vdisk, block, sector);
                var allowed = Allowed(history, sector);
                if (allowed.Contains(found)) continue;
                var covering = history.Where(o => o.Covers(sector)).ToList();
                var what = found switch
                {
                    -1 => "bytes that no operation wrote there (garbage, or another block's data)",
                    0 => "zeros that nobody wrote after the last acknowledged write",
                    _ when covering.Any(o => o.Id == found) => $"older data: op {found}, overwritten by an acknowledged later operation",
                    _ => $"data of op {found}, which never wrote this sector",
                };
                violations.Add(new Violation(
                    $"vd{vdisk} block {block} sector {sector}: read {what}; allowed {string.Join(" or ", allowed.Select(a => a == 0 ? "zeros" : $"op {a}"))}",
                    covering.Select(o => o.ToString()).ToList()));
                break; // one violation per block is enough to show it
            }
        }
        return violations;
    }

    /// <summary>The values a sector may hold after its history: the last acknowledged op's, or any later op's.</summary>
    public static HashSet<long> Allowed(IReadOnlyList<Op> blockHistory, int sector)
    {
        var covering = blockHistory.Where(o => o.Covers(sector)).ToList();
        var lastOk = covering.FindLastIndex(o => o.Outcome == Outcome.Ok);
        var allowed = new HashSet<long>();
        if (lastOk < 0) allowed.Add(0); // never acknowledged: still the initial zeros, or anything attempted
        else allowed.Add(covering[lastOk].Value);
        foreach (var later in covering.Skip(lastOk + 1)) allowed.Add(later.Value);
        return allowed;
    }
}
