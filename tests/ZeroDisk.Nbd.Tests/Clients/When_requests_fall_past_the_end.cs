using ZeroDisk.Nbd.Tests.Support;
using ZeroDisk.Testing;

namespace ZeroDisk.Nbd.Tests.Clients;

/// <summary>Out-of-range reads and writes (sent by nbdsh, which doesn't check bounds itself) fail; the connection lives on.</summary>
public sealed class When_requests_fall_past_the_end : IAsyncLifetime
{
    private InMemoryNbdServer _server = null!;

    public Task InitializeAsync()
    {
        _server = InMemoryNbdServer.Start(c => c.Add("vd", 1L << 20));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task They_get_errors_and_the_connection_stays_usable()
    {
        // libnbd refuses out-of-range requests itself unless strict bounds checking is switched off.
        const string script = """
import errno
h.set_strict_mode(h.get_strict_mode() & ~nbd.STRICT_BOUNDS)
size = h.get_size()
def fails(f, *a):
    try:
        f(*a)
    except nbd.Error as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    return "ok"
print("read-past", fails(h.pread, 4096, size - 2048))
print("write-past", fails(h.pwrite, b"x" * 4096, size - 2048))
print("write-beyond", fails(h.pwrite, b"x" * 512, size + 4096))
print("zero-past", fails(h.zero, 8192, size - 4096))
print("trim-past", fails(h.trim, 8192, size - 4096))
h.pwrite(b"\xab" * 4096, size - 4096)
print("tail", h.pread(4096, size - 4096) == b"\xab" * 4096)
""";
        var output = await NbdClients.NbdShAsync(_server.Uri("vd"), script);
        Assert.Contains("read-past EINVAL", output);
        Assert.Contains("write-past ENOSPC", output);
        Assert.Contains("write-beyond ENOSPC", output);
        Assert.Contains("zero-past ENOSPC", output);
        Assert.Contains("trim-past EINVAL", output);
        Assert.Contains("tail True", output);
        var data = new byte[4096];
        await _server.Catalog["vd"].ReadAsync((1L << 20) - 8192, data, CancellationToken.None);
        Assert.All(data, b => Assert.Equal(0, b)); // the rejected writes left nothing behind
        _server.AssertNoErrors();
    }
}
