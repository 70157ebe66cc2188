using ZeroDisk.LogCollector.Publishing;

namespace ZeroDisk.LogCollector.Tailing;

/// <summary>
/// What one pass read: per file, its batch of lines and the generation they were read in, and all their messages.
/// Two passes alternate, so the next one is read and published while the previous one awaits its confirms.
/// </summary>
internal sealed class PublishPass(long maxBatchBytes)
{
    private readonly Stack<LineBatch> _spare = new();

    public List<Entry> Entries { get; } = [];
    public List<OutgoingMessage> Messages { get; } = [];
    public int MessageCount => Messages.Count;

    public readonly record struct Entry(TailedFile File, LineBatch Batch, long Generation);

    public LineBatch RentBatch(int messageLimit)
    {
        var batch = _spare.Count > 0 ? _spare.Pop() : new LineBatch(messageLimit, maxBatchBytes);
        batch.Clear(messageLimit);
        return batch;
    }

    public void ReturnBatch(LineBatch batch) => _spare.Push(batch);

    public void Add(TailedFile file, LineBatch batch)
    {
        Entries.Add(new Entry(file, batch, file.Origin.Generation));
        Messages.AddRange(batch.Messages);
    }

    public void Reset()
    {
        foreach (var entry in Entries)
        {
            entry.Batch.Clear();
            _spare.Push(entry.Batch);
        }
        Entries.Clear();
        Messages.Clear();
    }
}
