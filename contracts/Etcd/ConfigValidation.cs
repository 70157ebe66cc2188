namespace ZeroDisk.Contracts;

/// <summary>
/// Checks of etcd config values shared by every reader and writer (NBD servers reject a bad value and keep
/// the last good one; the admin API answers 400). Each method returns the problems found, empty when valid.
/// </summary>
public static class ConfigValidation
{
    public const int MinBlockSize = 512;
    public const int MaxBlockSize = 1 << 20;

    /// <summary>The largest vdisk size in GiB whose size in bytes (<see cref="VdiskStaticConfig.SizeBytes"/>) is a long.</summary>
    public const long MaxSizeGiB = long.MaxValue / VdiskStaticConfig.GiB;

    public static IReadOnlyList<string> Validate(VdiskStaticConfig config)
    {
        var errors = new List<string>();
        if (config.BlockSize < MinBlockSize || config.BlockSize > MaxBlockSize || (config.BlockSize & (config.BlockSize - 1)) != 0)
            errors.Add($"blockSize {config.BlockSize} must be a power of two between {MinBlockSize} and {MaxBlockSize}");
        if (config.Size <= 0)
            errors.Add($"size {config.Size} must be a positive number of GiB");
        else if (config.Size > MaxSizeGiB)
            errors.Add($"size {config.Size} GiB is too large: size × 2^30 bytes must fit in 63 bits (at most {MaxSizeGiB} GiB)");
        if (string.IsNullOrWhiteSpace(config.Type))
            errors.Add("type must not be empty");
        return errors;
    }

    public static IReadOnlyList<string> Validate(StorageClusterConfig config)
    {
        var errors = new List<string>();
        if (config.Servers is null || config.Servers.Count == 0)
        {
            errors.Add("a storage cluster needs at least one server");
            return errors;
        }
        foreach (var server in config.Servers)
        {
            if (server is null || !IsHostPort(server.Address))
                errors.Add($"server address '{server?.Address}' must be host:port");
            else if (server.Db < 0)
                errors.Add($"server {server.Address}: db {server.Db} must not be negative");
        }
        var duplicates = config.Servers.Where(s => s is not null).GroupBy(s => s.Address).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
            errors.Add($"servers listed twice: {string.Join(", ", duplicates)}");
        return errors;
    }

    /// <summary>Primary and slave are mirrored shard by shard, so they must have the same number of servers.</summary>
    public static IReadOnlyList<string> ValidatePair(StorageClusterConfig primary, StorageClusterConfig slave) =>
        primary.Servers.Count == slave.Servers.Count
            ? []
            : [$"slave cluster has {slave.Servers.Count} servers but the primary has {primary.Servers.Count}; they must be the same size"];

    public static IReadOnlyList<string> Validate(VdiskNbdConfig config)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(config.StorageClusterID)) errors.Add("storageClusterID must not be empty");
        if (string.IsNullOrWhiteSpace(config.SlaveStorageClusterID)) errors.Add("slaveStorageClusterID must not be empty");
        if (config.StorageClusterID == config.SlaveStorageClusterID) errors.Add("the slave cluster must differ from the primary cluster");
        return errors;
    }

    public static bool IsValidId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= 128 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    public static bool IsHostPort(string? address)
    {
        if (string.IsNullOrWhiteSpace(address)) return false;
        var colon = address.LastIndexOf(':');
        return colon > 0 && int.TryParse(address.AsSpan(colon + 1), out var port) && port is > 0 and < 65536;
    }
}
