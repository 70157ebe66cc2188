namespace ZeroDisk.Contracts;

/// <summary>Value of <c>zerodisk/agents/&lt;node&gt;</c>, held under the agent's lease.</summary>
public sealed record AgentRegistration(string Node, string StorageAddress, double Load, DateTimeOffset HeartbeatAt);
