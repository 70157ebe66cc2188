namespace ZeroDisk.LogCollector.Publishing;

/// <summary>
/// The messages read from one stream in one go, and the offset just after the last line consumed (published,
/// dropped or counted as malformed) — what the checkpoint may advance to once every message is confirmed.
/// </summary>
internal sealed class LineBatch(int maxMessages, long maxBytes)
{
    private int _maxMessages = maxMessages;

    public List<OutgoingMessage> Messages { get; } = [];
    public long EndOffset { get; private set; } = -1;
    public long Bytes { get; private set; }
    public bool ConsumedAny => EndOffset >= 0;
    public bool IsFull => Messages.Count >= _maxMessages || Bytes >= maxBytes;

    public void Consumed(long nextOffset, int lineBytes, OutgoingMessage? message)
    {
        EndOffset = nextOffset;
        if (message is null) return;
        Messages.Add(message);
        Bytes += lineBytes;
    }

    /// <summary>Empty it, and allow at most <paramref name="messageLimit"/> messages in the next fill.</summary>
    public void Clear(int messageLimit)
    {
        _maxMessages = messageLimit;
        Clear();
    }

    public void Clear()
    {
        Messages.Clear();
        EndOffset = -1;
        Bytes = 0;
    }
}
