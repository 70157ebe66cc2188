using System.Security.Cryptography;

namespace ZeroDisk.Tlog;

/// <summary>
/// One logged block write, keyed (vdisk, owner epoch, sequence). <see cref="Hash"/> is the SHA-256 of
/// <see cref="Data"/>: it makes a resend recognisable as a duplicate and a different write under the same key an error.
/// </summary>
public sealed class TlogRecord
{
    public const int HashLength = 32;

    public required string VdiskId { get; init; }
    public required long Epoch { get; init; }
    public required long Sequence { get; init; }
    public required long BlockIndex { get; init; }
    public required long TimestampMs { get; init; }
    public required byte[] Hash { get; init; }
    public required ReadOnlyMemory<byte> Data { get; init; }

    public TlogKey Key => new(Epoch, Sequence);

    public static byte[] HashOf(ReadOnlySpan<byte> data) => SHA256.HashData(data);

    public bool HashMatchesData()
    {
        Span<byte> actual = stackalloc byte[HashLength];
        SHA256.HashData(Data.Span, actual);
        return actual.SequenceEqual(Hash);
    }
}

/// <summary>The position of a record in a vdisk's log: epochs order owners, sequences order one owner's writes.</summary>
public readonly record struct TlogKey(long Epoch, long Sequence) : IComparable<TlogKey>
{
    public int CompareTo(TlogKey other) =>
        Epoch != other.Epoch ? Epoch.CompareTo(other.Epoch) : Sequence.CompareTo(other.Sequence);

    public static bool operator <=(TlogKey a, TlogKey b) => a.CompareTo(b) <= 0;
    public static bool operator >=(TlogKey a, TlogKey b) => a.CompareTo(b) >= 0;
    public static bool operator <(TlogKey a, TlogKey b) => a.CompareTo(b) < 0;
    public static bool operator >(TlogKey a, TlogKey b) => a.CompareTo(b) > 0;

    public override string ToString() => $"{Epoch}:{Sequence}";
}
