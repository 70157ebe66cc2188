using System.Collections.Concurrent;

namespace ZeroDisk.Nbd.Memory;

/// <summary>Named in-memory exports; every connection to a name shares the same data.</summary>
public sealed class MemoryExportCatalog : INbdExportCatalog
{
    private readonly ConcurrentDictionary<string, MemoryExport> _exports = new(StringComparer.Ordinal);

    public MemoryExport Add(string name, long size, int blockSize = 4096, bool readOnly = false)
    {
        var export = new MemoryExport(size, blockSize, readOnly);
        if (!_exports.TryAdd(name, export)) throw new ArgumentException($"export {name} exists already", nameof(name));
        return export;
    }

    public MemoryExport this[string name] => _exports[name];

    public IReadOnlyList<NbdExportInfo> List() =>
        _exports.Keys.Order(StringComparer.Ordinal).Select(name => new NbdExportInfo(name)).ToList();

    public ValueTask<INbdExport?> OpenAsync(string name, CancellationToken ct) =>
        ValueTask.FromResult<INbdExport?>(_exports.TryGetValue(name, out var export) ? export : null);
}
