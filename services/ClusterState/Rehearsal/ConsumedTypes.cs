using MassTransit;

namespace ZeroDisk.ClusterState.Rehearsal;

/// <summary>Completes once a message of every expected type was consumed; keeps the last fault for the log.</summary>
internal sealed class ConsumedTypes(params Type[] expected) : IConsumeObserver
{
    private readonly HashSet<Type> _waiting = [.. expected];
    private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task All => _all.Task;

    public Exception? LastFault { get; private set; }

    public Task PreConsume<T>(ConsumeContext<T> context) where T : class => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context) where T : class
    {
        lock (_waiting)
            if (_waiting.Remove(typeof(T)) && _waiting.Count == 0) _all.TrySetResult();
        return Task.CompletedTask;
    }

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class
    {
        LastFault = exception;
        return Task.CompletedTask;
    }
}
