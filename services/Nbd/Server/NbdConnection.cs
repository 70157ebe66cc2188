using Microsoft.Extensions.Logging;
using ZeroDisk.Nbd.Protocol;
using ZeroDisk.Nbd.Security;
using ZeroDisk.Nbd.Transport;

namespace ZeroDisk.Nbd;

/// <summary>One client from handshake to close. Never throws: whatever goes wrong ends this connection only.</summary>
internal static class NbdConnection
{
    public static async Task RunAsync(INbdTransport transport, INbdExportCatalog catalog, NbdServerOptions options, NbdSecurity security,
        ByteBudget serverMemory, ILogger logger, CancellationToken ct)
    {
        NegotiatedExport? negotiated = null;
        try
        {
            using (var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                handshakeTimeout.CancelAfter(options.HandshakeTimeout);
                negotiated = await new NbdHandshake(transport, catalog, logger, options.HandshakeIdleTimeout, security).RunAsync(handshakeTimeout.Token).ConfigureAwait(false);
            }
            if (negotiated is null) return;
            logger.LogDebug("NBD client serves {Export} (structured replies {Structured})", negotiated.LogName, negotiated.StructuredReplies);
            // Aborting ends the receive loop; requests in flight finish, and their replies are dropped with the connection.
            using var ended = negotiated.Export is INbdEndingExport ending
                ? ending.Ended.Register(static t => ((INbdTransport)t!).Abort(), transport)
                : default;
            await new NbdTransmission(transport, negotiated, options, serverMemory, logger, ct).RunAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or ObjectDisposedException)
        {
            if (!ct.IsCancellationRequested) logger.LogDebug(e, "NBD connection closed: {Reason}", e.Message);
        }
        catch (Exception e)
        {
            // A bug, not a client problem: the connection ends, the server goes on, and it shows.
            logger.LogError(e, "NBD connection failed unexpectedly");
        }
        finally
        {
            try
            {
                if (negotiated is not null) await ExportLifetime.ReleaseAsync(negotiated.Export).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Releasing NBD export {Export} failed", negotiated?.LogName);
            }
            try { await transport.DisposeAsync().ConfigureAwait(false); }
            catch (Exception e) { logger.LogDebug(e, "Closing NBD transport failed"); }
        }
    }
}
