namespace ZeroDisk.LogCollector.Publishing;

/// <summary>Which stream a line was read from: what goes into its EventSource and its MessageId.</summary>
internal sealed record LineOrigin(string Node, string Stream, string Path, ulong Inode, long Generation);
