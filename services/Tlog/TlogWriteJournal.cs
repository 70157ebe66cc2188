using System.Collections.Concurrent;
using dotnet_etcd;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZeroDisk.Contracts;
using ZeroDisk.Storage;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.Tlog;

/// <summary>
/// The storage's <see cref="IWriteJournal"/> backed by tlog servers: one <see cref="TlogWriter"/> per vdisk that has
/// a tlog cluster (<c>tlogServerClusterID</c> in its nbd config), opened at the vdisk's first write of an ownership
/// claim with the servers of <c>&lt;clusterID&gt;:cluster:conf:tlog</c> and that claim's owner epoch. A vdisk claimed
/// again (its lease lapsed and came back, in the same process) journals under its new epoch; the old term's writer is
/// closed. A vdisk without a tlog cluster is not journaled. An all-zero block is logged with empty data (a delete).
/// </summary>
public sealed class TlogWriteJournal(EtcdClient etcd, TlogJournalOptions options, ILogger<TlogWriteJournal> logger) : IWriteJournal, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Term> _writers = new(StringComparer.Ordinal);

    /// <summary>One ownership claim's writer of a vdisk.</summary>
    private sealed record Term(long Epoch, Lazy<Task<TlogWriter?>> Writer);

    public async ValueTask AppendAsync(string vdiskId, long ownerEpoch, long blockIndex, ReadOnlyMemory<byte> block)
    {
        if (await WriterOf(vdiskId, ownerEpoch) is { } writer) await writer.AppendAsync(blockIndex, block);
    }

    /// <summary>
    /// The vdisk's own tlog only (seed 2062: a FLUSH of one vdisk failed because another vdisk's tlog cluster had
    /// lost two of its three servers).
    /// </summary>
    public async ValueTask FlushAsync(string vdiskId)
    {
        if (_writers.TryGetValue(vdiskId, out var term) && term.Writer.IsValueCreated && await term.Writer.Value is { } writer)
            await writer.FlushAsync();
    }

    private async Task<TlogWriter?> WriterOf(string vdiskId, long epoch)
    {
        Term term;
        while (true)
        {
            var fresh = new Term(epoch, new Lazy<Task<TlogWriter?>>(() => OpenAsync(vdiskId, epoch)));
            term = _writers.GetOrAdd(vdiskId, fresh);
            if (term.Epoch == epoch) break;
            if (term.Epoch > epoch)
                throw new IOException($"vdisk {vdiskId}: its tlog is written under owner epoch {term.Epoch} now; a write of the older claim {epoch} is not journaled");
            if (_writers.TryUpdate(vdiskId, fresh, term))
            {
                logger.LogInformation("tlog for {Vdisk}: new ownership claim, epoch {Old} -> {New}; closing the old term's writer", vdiskId, term.Epoch, epoch);
                _ = CloseAsync(term);
            }
        }
        try
        {
            return await term.Writer.Value;
        }
        catch
        {
            // Not cached: the next write tries again (the tlog cluster may be back).
            _writers.TryRemove(new KeyValuePair<string, Term>(vdiskId, term));
            throw;
        }
    }

    private async Task<TlogWriter?> OpenAsync(string vdiskId, long epoch)
    {
        var nbd = (await etcd.GetJsonAsync<VdiskNbdConfig>(EtcdKeys.VdiskNbdConfig(vdiskId)))?.Value;
        if (nbd?.TlogServerClusterID is not { Length: > 0 } clusterId) return null;
        var cluster = (await etcd.GetJsonAsync<TlogClusterConfig>(EtcdKeys.TlogClusterConfig(clusterId)))?.Value
                      ?? throw new IOException($"vdisk {vdiskId}: tlog cluster {clusterId} has no {EtcdKeys.TlogClusterConfig(clusterId)}");
        return await TlogWriter.OpenAsync(new TlogWriterOptions
        {
            VdiskId = vdiskId, Epoch = epoch, Servers = cluster.Servers,
            RequiredAcks = Math.Min(options.RequiredAcks, cluster.Servers.Count), FlushTimeout = options.FlushTimeout,
            Secret = options.Secret,
        }, logger, CancellationToken.None);
    }

    private static async Task CloseAsync(Term term)
    {
        try
        {
            if (await term.Writer.Value is { } writer) await writer.DisposeAsync();
        }
        catch (IOException)
        {
            // never opened: nothing to close
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var term in _writers.Values)
            if (term.Writer.IsValueCreated) await CloseAsync(term);
    }
}

/// <summary>
/// k, the flush timeout and the cluster secret of the NBD server's tlog writers (TLOG_REQUIRED_ACKS,
/// TLOG_FLUSH_TIMEOUT_SECONDS, TLOG_SECRET_FILE).
/// </summary>
public sealed record TlogJournalOptions
{
    public int RequiredAcks { get; init; } = 2;
    public TimeSpan FlushTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TlogSecret? Secret { get; init; }

    public static TlogJournalOptions From(IConfiguration configuration)
    {
        var options = new TlogJournalOptions();
        if (int.TryParse(configuration["TLOG_REQUIRED_ACKS"], out var k)) options = options with { RequiredAcks = k };
        if (double.TryParse(configuration["TLOG_FLUSH_TIMEOUT_SECONDS"], System.Globalization.CultureInfo.InvariantCulture, out var seconds))
            options = options with { FlushTimeout = TimeSpan.FromSeconds(seconds) };
        return options with { Secret = TlogSecret.FromFileOrNone(configuration[TlogSecret.FileKey]) };
    }
}

public static class TlogJournalExtensions
{
    /// <summary>Journals every stored block to the vdisk's tlog servers; call before <c>AddVdiskStorage</c>, whose default is no journal.</summary>
    public static IHostApplicationBuilder AddTlogJournal(this IHostApplicationBuilder builder)
    {
        // A secret file that cannot be read fails the start by name (ValidateOnStart), not the first journaled write.
        builder.Services.AddOptions<TlogJournalOptions>().ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<TlogJournalOptions>>(new SecretFileValidation(builder.Configuration[TlogSecret.FileKey]));
        builder.Services.AddSingleton(_ => TlogJournalOptions.From(builder.Configuration));
        builder.Services.AddSingleton<IWriteJournal, TlogWriteJournal>();
        return builder;
    }
}

/// <summary>Checks at start that the tlog secret file, when one is named, holds a usable secret.</summary>
internal sealed class SecretFileValidation(string? path) : IValidateOptions<TlogJournalOptions>
{
    public ValidateOptionsResult Validate(string? name, TlogJournalOptions options)
    {
        try
        {
            TlogSecret.FromFileOrNone(path);
            return ValidateOptionsResult.Success;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return ValidateOptionsResult.Fail($"{TlogSecret.FileKey}: {ex.Message}");
        }
    }
}
