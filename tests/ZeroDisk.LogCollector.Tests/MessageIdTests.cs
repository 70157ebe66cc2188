using ZeroDisk.LogCollector.Publishing;

namespace ZeroDisk.LogCollector.Tests;

public class MessageIdTests
{
    [Fact]
    public void The_same_line_always_gets_the_same_version_5_id()
    {
        var id = MessageIds.ForLine("node-a", "nbd-vm1.log", 1234, 0, 4096);
        Assert.Equal(id, MessageIds.ForLine("node-a", "nbd-vm1.log", 1234, 0, 4096));
        Assert.Equal(5, id.Version);
        Assert.Equal(0b10, id.Variant >> 2);
    }

    [Fact]
    public void Node_stream_inode_generation_and_offset_each_change_the_id()
    {
        var ids = new[]
        {
            MessageIds.ForLine("node-a", "s", 1, 0, 0),
            MessageIds.ForLine("node-b", "s", 1, 0, 0),
            MessageIds.ForLine("node-a", "t", 1, 0, 0),
            MessageIds.ForLine("node-a", "s", 2, 0, 0),
            MessageIds.ForLine("node-a", "s", 1, 1, 0),
            MessageIds.ForLine("node-a", "s", 1, 0, 1),
        };
        Assert.Equal(ids.Length, ids.Distinct().Count());
    }

    [Fact]
    public void Fields_cannot_run_into_each_other()
    {
        // "a\nb" + "c" versus "a" + "b\nc": the separator makes them different names
        Assert.NotEqual(MessageIds.ForLine("a\nb", "c", 1, 0, 0), MessageIds.ForLine("a", "b\nc", 1, 0, 0));
        Assert.NotEqual(MessageIds.ForLine("n", "s", 11, 0, 0), MessageIds.ForLine("n", "s", 1, 10, 0));
    }
}
