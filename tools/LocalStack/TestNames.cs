namespace ZeroDisk.LocalStack;

/// <summary>Unique ids so tests and benches sharing one etcd, RabbitMQ and Redis never see each other's keys and queues.</summary>
public static class TestNames
{
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
