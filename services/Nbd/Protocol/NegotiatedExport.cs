namespace ZeroDisk.Nbd.Protocol;

/// <summary>What the handshake settled for one connection: the export and the optional features agreed.</summary>
internal sealed record NegotiatedExport(string Name, INbdExport Export, bool StructuredReplies, bool BaseAllocation)
{
    /// <summary>The name as it may be logged (quoted, escaped: it is what the client sent).</summary>
    public string LogName => LogText.Quote(Name);

    public TransmissionFlags Flags => TransmissionFlagsFor(Export, StructuredReplies);

    public static TransmissionFlags TransmissionFlagsFor(INbdExport export, bool structured)
    {
        var flags = TransmissionFlags.HasFlags | TransmissionFlags.SendFlush | TransmissionFlags.SendFua
            | TransmissionFlags.SendTrim | TransmissionFlags.SendWriteZeroes | TransmissionFlags.SendFastZero;
        if (structured) flags |= TransmissionFlags.SendDf; // reads always answer in one chunk
        if (export.ReadOnly) flags |= TransmissionFlags.ReadOnly;
        if (export.CanMultiConn) flags |= TransmissionFlags.CanMultiConn;
        return flags;
    }
}
