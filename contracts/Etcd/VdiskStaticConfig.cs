using System.Text.Json.Serialization;

namespace ZeroDisk.Contracts;

/// <summary>Value of <c>&lt;vdiskID&gt;:vdisk:conf:static</c>; <see cref="Size"/> is in GiB as in the original.</summary>
public sealed record VdiskStaticConfig(int BlockSize = 4096, bool ReadOnly = false, long Size = 10, string Type = "db")
{
    public const long GiB = 1L << 30;
    /// <summary>The size in bytes (derived, not stored); throws on overflow (a config that passed <see cref="ConfigValidation"/> never does).</summary>
    [JsonIgnore]
    public long SizeBytes => checked(Size * GiB);
}
