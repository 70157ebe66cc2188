using ZeroDisk.FaultCheck;

namespace ZeroDisk.FaultSchedule.Tests;

/// <summary>The checker itself: it must reject older data, unwritten zeros and foreign bytes, and accept in-flight writes.</summary>
public class When_the_history_is_checked
{
    private const int BlockSize = 4096;

    private static (History History, List<Op> Ops) Block0(params (OpKind Kind, Outcome Outcome)[] ops)
    {
        var history = new History();
        var list = new List<Op>();
        var t = 0.0;
        foreach (var (kind, outcome) in ops)
        {
            var op = history.Invoke(0, 0, kind, 0, 0, 8, TimeSpan.FromSeconds(t += 1));
            op.Outcome = outcome;
            op.Completed = TimeSpan.FromSeconds(t + 0.5);
            list.Add(op);
        }
        return (history, list);
    }

    private static byte[] ImageOf(Op? op)
    {
        var image = new byte[BlockSize];
        if (op is not null)
            for (var s = 0; s < 8; s++) SectorContent.Fill(image.AsSpan(s * 512, 512), 0, 0, s, op.Id);
        return image;
    }

    [Fact]
    public void The_last_acknowledged_write_passes()
    {
        var (history, ops) = Block0((OpKind.Write, Outcome.Ok), (OpKind.Write, Outcome.Ok));
        Assert.Empty(HistoryChecker.CheckBlocks(history.Ops, 0, ImageOf(ops[1]), BlockSize, 1));
    }

    [Fact]
    public void Older_data_is_a_violation()
    {
        var (history, ops) = Block0((OpKind.Write, Outcome.Ok), (OpKind.Write, Outcome.Ok));
        var violation = Assert.Single(HistoryChecker.CheckBlocks(history.Ops, 0, ImageOf(ops[0]), BlockSize, 1));
        Assert.Contains("older data", violation.What);
        Assert.Equal(2, violation.Evidence.Count);
    }

    [Fact]
    public void Zeros_nobody_wrote_are_a_violation_but_a_trim_makes_them_right()
    {
        var (history, _) = Block0((OpKind.Write, Outcome.Ok));
        Assert.Contains("zeros", Assert.Single(HistoryChecker.CheckBlocks(history.Ops, 0, ImageOf(null), BlockSize, 1)).What);
        var (trimmed, _) = Block0((OpKind.Write, Outcome.Ok), (OpKind.Trim, Outcome.Ok));
        Assert.Empty(HistoryChecker.CheckBlocks(trimmed.Ops, 0, ImageOf(null), BlockSize, 1));
    }

    [Fact]
    public void A_write_in_flight_after_the_last_acknowledged_one_may_or_may_not_have_landed()
    {
        var (history, ops) = Block0((OpKind.Write, Outcome.Ok), (OpKind.Write, Outcome.Unknown), (OpKind.Write, Outcome.Error));
        foreach (var op in ops) Assert.Empty(HistoryChecker.CheckBlocks(history.Ops, 0, ImageOf(op), BlockSize, 1));
    }

    [Fact]
    public void Another_blocks_bytes_are_a_violation()
    {
        var (history, ops) = Block0((OpKind.Write, Outcome.Ok));
        var image = ImageOf(ops[0]);
        SectorContent.Fill(image.AsSpan(512, 512), 0, 7, 1, ops[0].Id); // sector 1 claims to be block 7's
        Assert.Contains("no operation wrote there", Assert.Single(HistoryChecker.CheckBlocks(history.Ops, 0, image, BlockSize, 1)).What);
    }
}
