using System.Buffers.Text;
using ZeroDisk.Storage.Resp;

namespace ZeroDisk.Storage.RepairCopy;

/// <summary>
/// Pages of a target's dirty set, read on its source with SSCAN over the data path's connection: SRANDMEMBER of a
/// 1,024-block page cost the source ~1.6 ms a call (it builds a set of distinct random picks), a scan step ~1 ms. Copied
/// pages leave the set behind the cursor, so the scan walks it once; blocks marked dirty again behind the cursor are
/// found by the next walk, and the set counts as empty only when a walk ends on an empty step and SCARD says 0.
/// Copying a block that is no longer dirty is harmless (it is copied under its lock, like any other).
/// </summary>
internal sealed class DirtyPages(int pageSize)
{
    private long _cursor;

    /// <summary>The next page of distinct dirty blocks (about <c>pageSize</c>); empty only when the set is empty.</summary>
    public async Task<long[]> NextAsync(EngineSlot source, EngineSlot target)
    {
        while (true)
        {
            var reply = await source.Data.ExecuteAsync("SSCAN", target.DirtyKey, _cursor, "COUNT", pageSize);
            _cursor = Number(reply.Items![0]);
            var members = reply.Items[1].Items!;
            // A scan may return a member twice (while the set's table is resized); a page's blocks must be distinct.
            // A small set (an intset or listpack) comes whole in one step, whatever the COUNT: a page stays a page
            // (it bounds the locks held and the pacing's step); what is left is found by the next walk.
            if (members.Length > 0) return members.Select(Number).Distinct().Take(pageSize).ToArray();
            if (_cursor == 0 && (await source.Data.ExecuteAsync("SCARD", target.DirtyKey)).Integer == 0) return [];
        }
    }

    private static long Number(RespReply item) =>
        Utf8Parser.TryParse(item.Bytes, out long value, out var length) && length == item.Bytes!.Length
            ? value
            : throw new InvalidDataException($"not a block number: '{item.Text}'");
}
