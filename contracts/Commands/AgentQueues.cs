namespace ZeroDisk.Contracts;

/// <summary>Commands for a node's agent go to one queue per node; senders and the agent share this name.</summary>
public static class AgentQueues
{
    public static string Name(string node) => $"agent-{node}";

    /// <summary>
    /// Senders address the endpoint's exchange, not its queue: a "queue:" address would declare the queue with
    /// default arguments, which RabbitMQ refuses for the agent's quorum queue.
    /// </summary>
    public static Uri Address(string node) => new($"exchange:{Name(node)}");
}
