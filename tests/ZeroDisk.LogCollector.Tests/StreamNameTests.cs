using ZeroDisk.LogCollector.Tailing;

namespace ZeroDisk.LogCollector.Tests;

public class StreamNameTests
{
    [Theory]
    [InlineData("nbd-vm3.log", "nbd-vm3.log")]
    [InlineData("nbd-vm3.log.1", "nbd-vm3.log")]
    [InlineData("nbd-vm3.log.12", "nbd-vm3.log")]
    [InlineData("nbd-vm3.log-20261125", "nbd-vm3.log")]
    [InlineData("nbd-vm3.log-2026112509", "nbd-vm3.log")]
    [InlineData("tlog-t1.log", "tlog-t1.log")]
    [InlineData("1", "1")]
    [InlineData("stdin", "stdin")]
    [InlineData("nbd-vm3.log.1.2", "nbd-vm3.log.1")]
    public void A_rotated_file_name_maps_back_to_its_stream(string fileName, string stream) =>
        Assert.Equal(stream, StreamNames.Of(fileName));

    [Theory]
    [InlineData("nbd-vm3.log.2.gz", true)]
    [InlineData("nbd-vm3.log-20261125.zst", true)]
    [InlineData("nbd-vm3.log.1", false)]
    [InlineData("gz.log", false)]
    public void Compressed_rotations_are_recognised(string fileName, bool compressed) =>
        Assert.Equal(compressed, StreamNames.IsCompressed(fileName));
}
