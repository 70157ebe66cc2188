using System.Buffers;
using System.IO.Pipelines;
using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging;
using ZeroDisk.Nbd.Security;
using ZeroDisk.Nbd.Transport;

namespace ZeroDisk.Nbd.Protocol;

/// <summary>
/// The newstyle handshake and option haggling (proto.md "Handshake phase"). Not a hot path: it may
/// allocate. Returns the export to serve, or null when the connection should close. A client that does not set
/// NBD_FLAG_C_FIXED_NEWSTYLE speaks plain newstyle: its only option is NBD_OPT_EXPORT_NAME (proto.md "In non-fixed
/// newstyle only one option can be set"), and it cannot read option replies, so anything else closes the connection
/// (nbdkit and qemu-nbd serve such clients the same way). Names and payloads come from an unauthenticated client: they
/// are logged only through <see cref="LogText.Quote"/>.
/// TLS (proto.md "TLS support"): with <see cref="NbdTlsMode.Required"/> every option before STARTTLS but ABORT is
/// answered NBD_REP_ERR_TLS_REQD (EXPORT_NAME, which cannot be answered, closes); what was haggled before TLS is
/// forgotten once it is on (a man in the middle could have chosen it). With export access rules, an export the
/// client's certificate is not named for is answered exactly as one that does not exist (NBD_REP_ERR_UNKNOWN, left
/// out of NBD_OPT_LIST): a client learns nothing about the vdisks of others, not even that they exist.
/// </summary>
internal sealed class NbdHandshake(INbdTransport transport, INbdExportCatalog catalog, ILogger logger, TimeSpan idleTimeout, NbdSecurity security)
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private bool _fixedNewstyle;
    private bool _noZeroes;
    private bool _structured;
    private bool _baseAllocation;
    private bool _tls;
    private string? _identity;

    public async Task<NegotiatedExport?> RunAsync(CancellationToken ct)
    {
        var greeting = new byte[18];
        BinaryPrimitives.WriteUInt64BigEndian(greeting, NbdWire.NbdMagic);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), NbdWire.IHaveOpt);
        BinaryPrimitives.WriteUInt16BigEndian(greeting.AsSpan(16), (ushort)(HandshakeFlags.FixedNewstyle | HandshakeFlags.NoZeroes));
        await transport.SendAsync(greeting, ct).ConfigureAwait(false);

        var clientFlagBytes = await ReadExactAsync(4, ct).ConfigureAwait(false);
        if (clientFlagBytes is null) return null;
        var clientFlags = (ClientFlags)BinaryPrimitives.ReadUInt32BigEndian(clientFlagBytes);
        if ((clientFlags & ~(ClientFlags.FixedNewstyle | ClientFlags.NoZeroes)) != 0)
        {
            logger.LogDebug("NBD client sent unsupported handshake flags {Flags:x}; closing", (uint)clientFlags);
            return null; // proto.md: a server that does not know a client flag MUST close
        }
        _fixedNewstyle = (clientFlags & ClientFlags.FixedNewstyle) != 0;
        _noZeroes = (clientFlags & ClientFlags.NoZeroes) != 0;

        while (true)
        {
            var header = await ReadExactAsync(NbdWire.OptionHeaderSize, ct).ConfigureAwait(false);
            if (header is null) return null;
            if (BinaryPrimitives.ReadUInt64BigEndian(header) != NbdWire.IHaveOpt)
            {
                logger.LogDebug("NBD option without IHAVEOPT magic; closing");
                return null;
            }
            var option = (NbdOption)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8));
            var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
            if (!_fixedNewstyle && option != NbdOption.ExportName)
            {
                logger.LogDebug("plain newstyle NBD client sent option {Option} other than NBD_OPT_EXPORT_NAME; closing", (uint)option);
                return null; // it could not read an option reply
            }
            if (length > NbdWire.MaxOptionLength)
            {
                if (_fixedNewstyle) await ReplyAsync(option, OptionReply.ErrTooBig, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
                return null; // skipping up to 4 GiB of option data is not worth it
            }
            var data = await ReadExactAsync((int)length, ct).ConfigureAwait(false);
            if (data is null) return null;

            if (security.Mode == NbdTlsMode.Required && !_tls && option is not (NbdOption.StartTls or NbdOption.Abort))
            {
                if (option == NbdOption.ExportName)
                {
                    logger.LogInformation("NBD client asked for an export without TLS, which is required; closing");
                    return null; // proto.md FORCEDTLS: it cannot be answered with an error
                }
                await ReplyAsync(option, OptionReply.ErrTlsReqd, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
                continue;
            }

            switch (option)
            {
                case NbdOption.ExportName:
                    return await ExportNameAsync(data, ct).ConfigureAwait(false);
                case NbdOption.Abort:
                    await ReplyAsync(option, OptionReply.Ack, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
                    return null;
                case NbdOption.List:
                    await ListAsync(data, ct).ConfigureAwait(false);
                    break;
                case NbdOption.StructuredReply:
                    if (data.Length != 0) await ReplyAsync(option, OptionReply.ErrInvalid, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
                    else
                    {
                        _structured = true;
                        await ReplyAsync(option, OptionReply.Ack, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
                    }
                    break;
                case NbdOption.Info:
                case NbdOption.Go:
                    var chosen = await InfoOrGoAsync(option, data, ct).ConfigureAwait(false);
                    if (chosen is not null) return chosen;
                    break;
                case NbdOption.ListMetaContext:
                case NbdOption.SetMetaContext:
                    await MetaContextAsync(option, data, ct).ConfigureAwait(false);
                    break;
                case NbdOption.StartTls when security.Tls is not null:
                    if (!await StartTlsAsync(data, ct).ConfigureAwait(false)) return null;
                    break;
                default: // STARTTLS included when TLS is off
                    await ReplyAsync(option, OptionReply.ErrUnsup, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
                    break;
            }
        }
    }

    private async Task<NegotiatedExport?> ExportNameAsync(byte[] data, CancellationToken ct)
    {
        var name = Decode(data);
        var export = name is null || !MayOpen(name) ? null : await catalog.OpenAsync(name, ct).ConfigureAwait(false);
        if (export is null)
        {
            logger.LogInformation("NBD client asked for unknown export {Export}; closing", name is null ? "(not UTF-8)" : LogText.Quote(name));
            return null; // NBD_OPT_EXPORT_NAME has no error reply: the server closes
        }
        var reply = new byte[_noZeroes ? 10 : 134];
        BinaryPrimitives.WriteInt64BigEndian(reply, export.Size);
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(8), (ushort)NegotiatedExport.TransmissionFlagsFor(export, _structured));
        await transport.SendAsync(reply, ct).ConfigureAwait(false);
        return new NegotiatedExport(name!, export, _structured, _baseAllocation && _structured);
    }

    private async Task ListAsync(byte[] data, CancellationToken ct)
    {
        if (data.Length != 0)
        {
            await ReplyAsync(NbdOption.List, OptionReply.ErrInvalid, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
            return;
        }
        foreach (var info in catalog.List())
        {
            if (!security.MayOpen(_identity, info.Name)) continue;
            var name = Encoding.UTF8.GetBytes(info.Name);
            var description = info.Description is null ? [] : Encoding.UTF8.GetBytes(info.Description);
            var payload = new byte[4 + name.Length + description.Length];
            BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)name.Length);
            name.CopyTo(payload, 4);
            description.CopyTo(payload, 4 + name.Length);
            await ReplyAsync(NbdOption.List, OptionReply.Server, payload, ct).ConfigureAwait(false);
        }
        await ReplyAsync(NbdOption.List, OptionReply.Ack, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
    }

    private async Task<NegotiatedExport?> InfoOrGoAsync(NbdOption option, byte[] data, CancellationToken ct)
    {
        // name length (4), name, request count (2), requests (2 each)
        if (!TryParseNameAnd(data, out var name, out var rest) || rest.Length < 2
            || rest.Length != 2 + 2 * BinaryPrimitives.ReadUInt16BigEndian(rest))
        {
            await ReplyAsync(option, OptionReply.ErrInvalid, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
            return null;
        }
        var requested = new List<InfoType>();
        for (var i = 2; i < rest.Length; i += 2) requested.Add((InfoType)BinaryPrimitives.ReadUInt16BigEndian(rest.AsSpan(i)));

        var export = MayOpen(name) ? await catalog.OpenAsync(name, ct).ConfigureAwait(false) : null;
        if (export is null)
        {
            await ReplyAsync(option, OptionReply.ErrUnknown, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
            return null;
        }
        var keep = false;
        try
        {
            var exportInfo = new byte[12];
            BinaryPrimitives.WriteUInt16BigEndian(exportInfo, (ushort)InfoType.Export);
            BinaryPrimitives.WriteInt64BigEndian(exportInfo.AsSpan(2), export.Size);
            BinaryPrimitives.WriteUInt16BigEndian(exportInfo.AsSpan(10), (ushort)NegotiatedExport.TransmissionFlagsFor(export, _structured));
            await ReplyAsync(option, OptionReply.Info, exportInfo, ct).ConfigureAwait(false);

            if (requested.Contains(InfoType.Name))
                await ReplyAsync(option, OptionReply.Info, InfoString(InfoType.Name, name), ct).ConfigureAwait(false);
            var description = catalog.List().FirstOrDefault(e => e.Name == name)?.Description;
            if (requested.Contains(InfoType.Description) && description is not null)
                await ReplyAsync(option, OptionReply.Info, InfoString(InfoType.Description, description), ct).ConfigureAwait(false);

            // Always sent: min 1 (any alignment works), preferred = the vdisk block, max = what we accept per request.
            var blockSize = new byte[14];
            BinaryPrimitives.WriteUInt16BigEndian(blockSize, (ushort)InfoType.BlockSize);
            BinaryPrimitives.WriteUInt32BigEndian(blockSize.AsSpan(2), 1);
            BinaryPrimitives.WriteUInt32BigEndian(blockSize.AsSpan(6), (uint)Math.Clamp(export.BlockSize, 1, NbdWire.MaxPayload));
            BinaryPrimitives.WriteUInt32BigEndian(blockSize.AsSpan(10), NbdWire.MaxPayload);
            await ReplyAsync(option, OptionReply.Info, blockSize, ct).ConfigureAwait(false);

            await ReplyAsync(option, OptionReply.Ack, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
            if (option != NbdOption.Go) return null;
            keep = true;
            return new NegotiatedExport(name, export, _structured, _baseAllocation && _structured);
        }
        finally
        {
            if (!keep) await ExportLifetime.ReleaseAsync(export).ConfigureAwait(false);
        }
    }

    private async Task MetaContextAsync(NbdOption option, byte[] data, CancellationToken ct)
    {
        // export name length (4), name, query count (4), queries (length (4) + string each)
        if (!TryParseNameAnd(data, out var name, out var rest) || rest.Length < 4)
        {
            await ReplyAsync(option, OptionReply.ErrInvalid, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
            return;
        }
        var count = BinaryPrimitives.ReadUInt32BigEndian(rest);
        var queries = new List<string>();
        var position = 4;
        for (uint i = 0; i < count; i++)
        {
            if (rest.Length - position < 4) { queries = null; break; }
            var length = BinaryPrimitives.ReadUInt32BigEndian(rest.AsSpan(position));
            position += 4;
            if (length > rest.Length - position) { queries = null; break; }
            var query = Decode(rest.AsSpan(position, (int)length));
            if (query is null) { queries = null; break; }
            queries.Add(query);
            position += (int)length;
        }
        if (queries is null || position != rest.Length || (option == NbdOption.SetMetaContext && !_structured))
        {
            await ReplyAsync(option, OptionReply.ErrInvalid, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
            return;
        }
        if (!MayOpen(name) || !catalog.List().Any(e => e.Name == name))
        {
            await ReplyAsync(option, OptionReply.ErrUnknown, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
            return;
        }
        var selected = option == NbdOption.ListMetaContext
            ? queries.Count == 0 || queries.Any(q => q is "base:" or NbdWire.BaseAllocation)
            : queries.Contains(NbdWire.BaseAllocation);
        if (option == NbdOption.SetMetaContext) _baseAllocation = selected; // SET replaces any earlier choice
        if (selected)
        {
            var contextName = Encoding.UTF8.GetBytes(NbdWire.BaseAllocation);
            var payload = new byte[4 + contextName.Length];
            BinaryPrimitives.WriteUInt32BigEndian(payload, NbdWire.BaseAllocationContextId);
            contextName.CopyTo(payload, 4);
            await ReplyAsync(option, OptionReply.MetaContext, payload, ct).ConfigureAwait(false);
        }
        await ReplyAsync(option, OptionReply.Ack, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
    }

    /// <summary>Whether this client may open the export; a refusal is logged (it is an operator's business), the client only sees "unknown".</summary>
    private bool MayOpen(string name)
    {
        if (security.MayOpen(_identity, name)) return true;
        logger.LogInformation("NBD client {Client} may not open export {Export}: answered as unknown",
            _identity is null ? "(no certificate)" : LogText.Quote(_identity), LogText.Quote(name));
        return false;
    }

    /// <summary>
    /// NBD_OPT_STARTTLS: acknowledged, then the TLS handshake. False when the connection must close (the handshake
    /// failed, or the client sent bytes past the option before the acknowledgement: plaintext injected ahead of TLS
    /// must never be read as if it came through it).
    /// </summary>
    private async Task<bool> StartTlsAsync(byte[] data, CancellationToken ct)
    {
        if (data.Length != 0 || _tls)
        {
            await ReplyAsync(NbdOption.StartTls, OptionReply.ErrInvalid, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
            return true;
        }
        if (transport.Input.TryRead(out var pending))
        {
            var early = pending.Buffer.Length;
            transport.Input.AdvanceTo(pending.Buffer.Start);
            if (early != 0 || pending.IsCompleted)
            {
                logger.LogInformation("NBD client sent {Bytes} bytes after STARTTLS before its acknowledgement; closing", early);
                return false;
            }
        }
        await ReplyAsync(NbdOption.StartTls, OptionReply.Ack, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
        try
        {
            var certificate = await transport.StartTlsAsync(security.Tls!, ct).ConfigureAwait(false);
            _identity = certificate is null ? null : NbdSecurity.IdentityOf(certificate);
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
        {
            logger.LogInformation("NBD client's TLS handshake failed; closing: {Reason}", LogText.Quote(e.Message));
            return false;
        }
        _tls = true;
        _structured = false; // haggled in plaintext: forgotten (proto.md leaves the rest to the server; nbdkit does the same)
        _baseAllocation = false;
        logger.LogDebug("NBD client is on TLS as {Client}", _identity is null ? "(no certificate)" : LogText.Quote(_identity));
        return true;
    }

    private static bool TryParseNameAnd(byte[] data, out string name, out byte[] rest)
    {
        name = "";
        rest = [];
        if (data.Length < 4) return false;
        var length = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (length > data.Length - 4) return false;
        var decoded = Decode(data.AsSpan(4, (int)length));
        if (decoded is null) return false;
        name = decoded;
        rest = data[(4 + (int)length)..];
        return true;
    }

    private static string? Decode(ReadOnlySpan<byte> bytes)
    {
        try { return StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { return null; }
    }

    private static byte[] InfoString(InfoType type, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        var payload = new byte[2 + bytes.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)type);
        bytes.CopyTo(payload, 2);
        return payload;
    }

    private async Task ReplyAsync(NbdOption option, OptionReply reply, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        var message = new byte[NbdWire.OptionReplyHeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt64BigEndian(message, NbdWire.OptionReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(8), (uint)option);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(12), (uint)reply);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(16), (uint)payload.Length);
        payload.Span.CopyTo(message.AsSpan(NbdWire.OptionReplyHeaderSize));
        await transport.SendAsync(message, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// One read of the pipe that gives up (as a cancellation) after <c>idleTimeout</c> without a byte: a client that
    /// connects and goes quiet holds a connection slot only that long, whatever the overall handshake deadline.
    /// </summary>
    private async ValueTask<ReadResult> ReadOrIdleAsync(PipeReader input, CancellationToken ct)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        idle.CancelAfter(idleTimeout);
        return await input.ReadAsync(idle.Token).ConfigureAwait(false);
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes, or null when the client closed first.</summary>
    private async Task<byte[]?> ReadExactAsync(int count, CancellationToken ct)
    {
        if (count == 0) return []; // a read would wait for bytes the client has no reason to send
        var input = transport.Input;
        while (true)
        {
            var result = await ReadOrIdleAsync(input, ct).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length >= count)
            {
                var bytes = buffer.Slice(0, count).ToArray();
                input.AdvanceTo(buffer.GetPosition(count));
                return bytes;
            }
            if (result.IsCompleted || result.IsCanceled)
            {
                input.AdvanceTo(buffer.End);
                return null;
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
