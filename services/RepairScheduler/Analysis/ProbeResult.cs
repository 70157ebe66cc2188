namespace ZeroDisk.RepairScheduler.Analysis;

/// <summary>What one probe of an engine found.</summary>
public sealed record ProbeResult(ProbeOutcome Outcome, string Reason, string? RunId = null)
{
    public bool Healthy => Outcome == ProbeOutcome.Healthy;
}

public enum ProbeOutcome
{
    /// <summary>Answers PING and a SET/GET/DEL, durability settings right, identity marker as expected.</summary>
    Healthy,
    /// <summary>Does not answer, or answers wrongly: still down.</summary>
    Unreachable,
    /// <summary>Answers, but is not safe to hold data (appendonly off, eviction on): an operator must fix it.</summary>
    Misconfigured,
    /// <summary>Answers without its identity marker, or with another one: its data is gone.</summary>
    IdentityLost,
}
