namespace ZeroDisk.Contracts;

/// <summary>Value of <c>&lt;serverID&gt;:nbdserver:conf:vdisks</c>: the exports of one NBD server.</summary>
public sealed record NbdServerVdisksConfig(IReadOnlyList<string> Vdisks);
