using System.Collections.Concurrent;
using System.Globalization;

namespace ZeroDisk.FaultCheck;

public enum OpKind { Write, SubWrite, Zeroes, Trim, Flush }

/// <summary>Acknowledged, failed with an NBD error, or unknown (the connection broke: it may or may not have landed).</summary>
public enum Outcome { Pending, Ok, Error, Unknown }

/// <summary>
/// One operation of the history, Jepsen style: invoked, then completed with an outcome, with times on the run's clock.
/// A write covers <see cref="Sectors"/> 512-byte sectors of one block from <see cref="FirstSector"/>; each sector it
/// writes carries its id (<see cref="SectorContent"/>); zeroes and trims write zeros.
/// </summary>
public sealed class Op(long id, int vdisk, int writer, OpKind kind, long block, int firstSector, int sectors, TimeSpan invoked)
{
    public long Id { get; } = id;
    public int Vdisk { get; } = vdisk;
    public int Writer { get; } = writer;
    public OpKind Kind { get; } = kind;
    public long Block { get; } = block;
    public int FirstSector { get; } = firstSector;
    public int Sectors { get; } = sectors;
    public TimeSpan Invoked { get; } = invoked;
    public TimeSpan Completed { get; set; }
    public Outcome Outcome { get; set; } = Outcome.Pending;
    public uint Error { get; set; }
    public string? Detail { get; set; }

    /// <summary>What this op leaves in the sectors it covers: its id, or 0 for zeros.</summary>
    public long Value => Kind is OpKind.Write or OpKind.SubWrite ? Id : 0;

    public bool Covers(int sector) => Kind != OpKind.Flush && sector >= FirstSector && sector < FirstSector + Sectors;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"op {Id} {Kind} vd{Vdisk} block {Block} sectors {FirstSector}..{FirstSector + Sectors - 1} by writer {Writer}: invoked {Invoked.TotalSeconds:0.000}s, {Outcome}{(Error != 0 ? $" (NBD error {Error})" : "")} at {Completed.TotalSeconds:0.000}s{(Detail is null ? "" : $" [{Detail}]")}");
}

/// <summary>Every operation of the run, in invocation order per writer.</summary>
public sealed class History
{
    private long _nextId;
    private readonly ConcurrentQueue<Op> _ops = new();

    public Op Invoke(int vdisk, int writer, OpKind kind, long block, int firstSector, int sectors, TimeSpan at)
    {
        var op = new Op(Interlocked.Increment(ref _nextId), vdisk, writer, kind, block, firstSector, sectors, at);
        _ops.Enqueue(op);
        return op;
    }

    public IReadOnlyList<Op> Ops => _ops.OrderBy(o => o.Id).ToList();
}

/// <summary>
/// The bytes a write puts in one 512-byte sector: a header naming the vdisk, block, sector and op, then a fill
/// derived from them. A sector read back is either all zeros, exactly one op's sector, or garbage.
/// </summary>
public static class SectorContent
{
    public const int SectorSize = 512;
    private static readonly byte[] Magic = "ZDFCHK01"u8.ToArray();

    public static void Fill(Span<byte> sector, int vdisk, long block, int index, long opId)
    {
        Magic.CopyTo(sector);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(sector[8..], vdisk);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(sector[12..], block);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(sector[20..], index);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(sector[24..], opId);
        for (var i = 32; i < SectorSize; i++) sector[i] = (byte)(opId * 31 + index * 7 + i);
    }

    /// <summary>0 for zeros, the op id for an intact sector of that op, -1 for anything else.</summary>
    public static long Decode(ReadOnlySpan<byte> sector, int vdisk, long block, int index)
    {
        if (!sector.ContainsAnyExcept((byte)0)) return 0;
        if (!sector[..8].SequenceEqual(Magic)) return -1;
        var opId = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(sector[24..]);
        Span<byte> expected = stackalloc byte[SectorSize];
        Fill(expected, vdisk, block, index, opId);
        return sector.SequenceEqual(expected) ? opId : -1;
    }
}
