using Mvccpb;
using ZeroDisk.ClusterState.Persistence;

namespace ZeroDisk.ClusterState.Tests.Persistence;

/// <summary>
/// The ignored-report filter's read of a saga is handed to the repository once: a retry of the message, or another
/// message or saga, never gets it.
/// </summary>
public sealed class When_a_first_saga_read_is_handed_on
{
    [Fact]
    public void It_is_taken_once_and_only_for_its_own_message_and_saga()
    {
        var (message, saga) = (Guid.NewGuid(), Guid.NewGuid());
        var kv = new KeyValue { Version = 3 };
        var read = new FirstSagaRead();

        read.Set(message, saga, kv);
        Assert.True(read.TryTake(message, saga, out var taken));
        Assert.Same(kv, taken);
        Assert.False(read.TryTake(message, saga, out _)); // the next attempt reads afresh

        read.Set(message, saga, kv);
        Assert.False(read.TryTake(Guid.NewGuid(), saga, out _)); // another message
        Assert.False(read.TryTake(message, saga, out _));        // and a mismatch spends it
        read.Set(message, saga, null);                           // no saga yet is a read too
        Assert.True(read.TryTake(message, saga, out var none));
        Assert.Null(none);
    }
}
