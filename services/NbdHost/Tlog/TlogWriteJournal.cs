using System.Collections.Concurrent;
using dotnet_etcd;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.NbdHost.Storage;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Tlog;

/// <summary>
/// The storage's <see cref="IWriteJournal"/> backed by tlog servers: one <see cref="TlogWriter"/> per vdisk that has
/// a tlog cluster (<c>tlogServerClusterID</c> in its nbd config), opened at the vdisk's first write with the
/// servers of <c>&lt;clusterID&gt;:cluster:conf:tlog</c> and the epoch of the vdisk's owner key (0 while unowned).
/// A vdisk without a tlog cluster is not journaled. An all-zero block is logged with empty data (a delete).
/// </summary>
public sealed class TlogWriteJournal(EtcdClient etcd, TlogJournalOptions options, ILogger<TlogWriteJournal> logger) : IWriteJournal, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<TlogWriter?>>> _writers = new(StringComparer.Ordinal);

    public async ValueTask AppendAsync(string vdiskId, long blockIndex, ReadOnlyMemory<byte> block)
    {
        if (await WriterOf(vdiskId) is { } writer) await writer.AppendAsync(blockIndex, block);
    }

    /// <summary>The seam's flush has no vdisk: every open tlog is made durable (a server usually serves one vdisk).</summary>
    public async ValueTask FlushAsync()
    {
        foreach (var entry in _writers.Values)
            if (entry.IsValueCreated && await entry.Value is { } writer) await writer.FlushAsync();
    }

    private async Task<TlogWriter?> WriterOf(string vdiskId)
    {
        var entry = _writers.GetOrAdd(vdiskId, id => new Lazy<Task<TlogWriter?>>(() => OpenAsync(id)));
        try
        {
            return await entry.Value;
        }
        catch
        {
            // Not cached: the next write tries again (the tlog cluster may be back).
            _writers.TryRemove(new KeyValuePair<string, Lazy<Task<TlogWriter?>>>(vdiskId, entry));
            throw;
        }
    }

    private async Task<TlogWriter?> OpenAsync(string vdiskId)
    {
        var nbd = (await etcd.GetJsonAsync<VdiskNbdConfig>(EtcdKeys.VdiskNbdConfig(vdiskId)))?.Value;
        if (nbd?.TlogServerClusterID is not { Length: > 0 } clusterId) return null;
        var cluster = (await etcd.GetJsonAsync<TlogClusterConfig>(EtcdKeys.TlogClusterConfig(clusterId)))?.Value
                      ?? throw new IOException($"vdisk {vdiskId}: tlog cluster {clusterId} has no {EtcdKeys.TlogClusterConfig(clusterId)}");
        var epoch = (await etcd.GetJsonAsync<VdiskOwner>(EtcdKeys.VdiskOwner(vdiskId)))?.Value.Epoch ?? 0;
        return await TlogWriter.OpenAsync(new TlogWriterOptions
        {
            VdiskId = vdiskId, Epoch = epoch, Servers = cluster.Servers,
            RequiredAcks = Math.Min(options.RequiredAcks, cluster.Servers.Count), FlushTimeout = options.FlushTimeout,
        }, logger, CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var entry in _writers.Values)
        {
            if (!entry.IsValueCreated) continue;
            try
            {
                if (await entry.Value is { } writer) await writer.DisposeAsync();
            }
            catch (IOException)
            {
                // never opened: nothing to close
            }
        }
    }
}

/// <summary>k and the flush timeout of the NBD server's tlog writers (TLOG_REQUIRED_ACKS, TLOG_FLUSH_TIMEOUT_SECONDS).</summary>
public sealed record TlogJournalOptions
{
    public int RequiredAcks { get; init; } = 2;
    public TimeSpan FlushTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public static TlogJournalOptions From(IConfiguration configuration)
    {
        var options = new TlogJournalOptions();
        if (int.TryParse(configuration["TLOG_REQUIRED_ACKS"], out var k)) options = options with { RequiredAcks = k };
        if (double.TryParse(configuration["TLOG_FLUSH_TIMEOUT_SECONDS"], System.Globalization.CultureInfo.InvariantCulture, out var seconds))
            options = options with { FlushTimeout = TimeSpan.FromSeconds(seconds) };
        return options;
    }
}

public static class TlogJournalExtensions
{
    /// <summary>Journals every stored block to the vdisk's tlog servers; call before <c>AddVdiskStorage</c>, whose default is no journal.</summary>
    public static IHostApplicationBuilder AddTlogJournal(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TlogJournalOptions.From(builder.Configuration));
        builder.Services.AddSingleton<IWriteJournal, TlogWriteJournal>();
        return builder;
    }
}
