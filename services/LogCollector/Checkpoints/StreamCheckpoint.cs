namespace ZeroDisk.LogCollector.Checkpoints;

/// <summary>
/// How far one log stream has been published and confirmed: the file (device, inode), how many times it was seen
/// truncated, and the offset of the first line not yet confirmed by the broker.
/// </summary>
public sealed record StreamCheckpoint(string Stream, ulong Device, ulong Inode, long Generation, long Offset);
