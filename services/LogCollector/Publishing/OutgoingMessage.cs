namespace ZeroDisk.LogCollector.Publishing;

/// <summary>A contract ready to publish, with the deterministic id of the line it came from.</summary>
internal sealed record OutgoingMessage(object Message, Type MessageType, Guid MessageId, string Stream, long Offset);
