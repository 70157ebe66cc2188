using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Storage.Ownership;
using ZeroDisk.Testing;
using ZeroDisk.Tlog;

namespace ZeroDisk.NbdHost.Tests.Tlog;

/// <summary>
/// A real tlog server with the cluster's secret and owner epochs checked against etcd (the real one of the test
/// infrastructure): a client without the secret, or with a wrong one, can neither append nor read; an authenticated
/// client may touch a vdisk only under its current owner epoch (a stale or missing owner is refused for append,
/// highest-sequence query and read). The client side authenticates the server too.
/// </summary>
public sealed class When_tlog_clients_must_authenticate : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "zd-tlog-auth-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _vdisk = TestNames.Unique("vd");
    private TlogSecret _secret = null!, _wrong = null!;
    private TlogServer _server = null!;
    private EtcdGrpc _owners = null!;
    private dotnet_etcd.EtcdClient _etcd = null!;
    private string _address = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _secret = SecretFile("right", "the cluster's secret 0123456789");
        _wrong = SecretFile("wrong", "somebody else's secret 98765432");
        var infra = await SharedInfrastructure.GetAsync();
        _etcd = EtcdExtensions.CreateClient(infra.EtcdEndpoints);
        _owners = new EtcdGrpc(infra.EtcdEndpoints);
        await OwnAsync(7);
        _server = new TlogServer(Path.Combine(_directory, "logs"), NullLogger.Instance, _secret, new EtcdOwnerEpochs(_owners));
        _server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        _address = $"127.0.0.1:{_server.LocalEndPoint!.Port}";
    }

    public async Task DisposeAsync()
    {
        await _etcd.DeleteAsync(EtcdKeys.VdiskOwner(_vdisk));
        _etcd.Dispose();
        _owners.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private TlogSecret SecretFile(string name, string secret)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, secret + "\n");
        return TlogSecret.FromFile(path);
    }

    private Task OwnAsync(long epoch) => _etcd.PutJsonAsync(EtcdKeys.VdiskOwner(_vdisk), new VdiskOwner("test-server", VdiskOwnerKind.Vm, epoch));

    private TlogRecord Record(long epoch, long sequence, byte fill)
    {
        var data = Enumerable.Repeat(fill, 4096).ToArray();
        return new TlogRecord { VdiskId = _vdisk, Epoch = epoch, Sequence = sequence, BlockIndex = sequence, TimestampMs = 1, Hash = SHA256.HashData(data), Data = data };
    }

    private Task<TlogConnection> ConnectAsync(TlogSecret? secret) => TlogConnection.ConnectAsync(_address, TimeSpan.FromSeconds(10), CancellationToken.None, secret);

    private async Task<List<TlogRecord>> ReadAsync(long epoch)
    {
        await using var reader = await ConnectAsync(_secret);
        var records = new List<TlogRecord>();
        await foreach (var record in reader.ReadLogAsync(_vdisk, epoch, CancellationToken.None)) records.Add(record);
        return records;
    }

    [Fact]
    public async Task The_owner_with_the_secret_appends_and_reads()
    {
        await using var owner = await ConnectAsync(_secret);
        Assert.True((await owner.AppendAsync(Record(7, 1, 0xa1), CancellationToken.None)).Acknowledged);
        Assert.Equal(1, await owner.QueryHighestAsync(_vdisk, 7, CancellationToken.None));
        Assert.Equal([1L], (await ReadAsync(7)).Select(r => r.Sequence));

        // The writer of an NBD server, as nbdhost serve opens it, with the secret in its options.
        await using var writer = await TlogWriter.OpenAsync(new TlogWriterOptions { VdiskId = _vdisk, Epoch = 7, Servers = [_address], RequiredAcks = 1, Secret = _secret },
            NullLogger.Instance, CancellationToken.None);
        await writer.AppendAsync(2, Enumerable.Repeat((byte)0xa2, 4096).ToArray());
        await writer.FlushAsync();
        Assert.Equal([1L, 2L], (await ReadAsync(7)).Select(r => r.Sequence));
    }

    [Fact]
    public async Task A_client_without_the_secret_or_with_a_wrong_one_gets_nothing_done()
    {
        var none = await Assert.ThrowsAsync<IOException>(() => ConnectAsync(null));
        Assert.Contains("requires the cluster's secret", none.Message);
        var wrong = await Assert.ThrowsAsync<IOException>(() => ConnectAsync(_wrong));
        Assert.Contains("authentication failed", wrong.Message);
        await Assert.ThrowsAnyAsync<IOException>(() => TlogWriter.OpenAsync(
            new TlogWriterOptions { VdiskId = _vdisk, Epoch = 7, Servers = [_address], RequiredAcks = 1, Secret = _wrong }, NullLogger.Instance, CancellationToken.None));

        // A client that ignores the challenge and sends an append and a log read anyway: an error, the connection closes.
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _server.LocalEndPoint!.Port);
        await using var stream = new NetworkStream(socket);
        var output = PipeWriter.Create(stream);
        TlogFrames.WriteAppend(output, Record(7, 1, 0xee));
        TlogFrames.WriteQueryHighest(output, _vdisk, 7, TlogFrameType.ReadLog);
        await output.FlushAsync();
        var answer = await ReadToEndAsync(stream);
        var frames = Frames(answer).ToList();
        Assert.Equal([TlogFrameType.Challenge, TlogFrameType.Error], frames.Select(f => f.Type));
        Assert.Equal("authentication required", TlogFrames.ReadText(new ReadOnlySequence<byte>(frames[1].Body)));

        Assert.Empty(await ReadAsync(7)); // nothing was logged
    }

    [Fact]
    public async Task A_stale_or_missing_owner_epoch_can_neither_append_nor_read()
    {
        await using (var owner = await ConnectAsync(_secret))
            Assert.True((await owner.AppendAsync(Record(7, 1, 0xb1), CancellationToken.None)).Acknowledged);

        await OwnAsync(8); // another server took the vdisk over
        await using (var successor = await ConnectAsync(_secret))
            Assert.True((await successor.AppendAsync(Record(8, 1, 0xb2), CancellationToken.None)).Acknowledged); // a new owner never waits

        await using (var stale = await ConnectAsync(_secret))
        {
            var refused = await stale.AppendAsync(Record(7, 2, 0xb3), CancellationToken.None);
            Assert.False(refused.Acknowledged);
            Assert.Contains("stale owner epoch 7", refused.RejectReason);
        }
        await using (var stale = await ConnectAsync(_secret))
            Assert.Contains("stale owner epoch 7", (await Assert.ThrowsAsync<IOException>(() => stale.QueryHighestAsync(_vdisk, 7, CancellationToken.None))).Message);
        Assert.Contains("stale owner epoch 7", (await Assert.ThrowsAsync<IOException>(() => ReadAsync(7))).Message);
        Assert.Equal([(7L, 1L), (8L, 1L)], (await ReadAsync(8)).Select(r => (r.Epoch, r.Sequence)));

        await _etcd.DeleteAsync(EtcdKeys.VdiskOwner(_vdisk)); // unowned: nobody may touch it
        await Eventually.UntilAsync(async () =>
        {
            await using var late = await ConnectAsync(_secret);
            return !(await late.AppendAsync(Record(8, 2, 0xb4), CancellationToken.None)).Acknowledged;
        }, "an append to an unowned vdisk is refused", TimeSpan.FromSeconds(30));
        Assert.Contains("has no owner", (await Assert.ThrowsAsync<IOException>(() => ReadAsync(8))).Message);
    }

    [Fact]
    public async Task A_client_with_the_secret_refuses_a_server_that_asks_for_none()
    {
        await using var open = new TlogServer(Path.Combine(_directory, "open"), NullLogger.Instance);
        open.Start(new IPEndPoint(IPAddress.Loopback, 0));
        var refused = await Assert.ThrowsAsync<IOException>(() =>
            TlogConnection.ConnectAsync($"127.0.0.1:{open.LocalEndPoint!.Port}", TimeSpan.FromSeconds(10), CancellationToken.None, _secret));
        Assert.Contains("does not ask for the cluster's secret", refused.Message);
    }

    private static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        using var buffer = new MemoryStream();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await stream.CopyToAsync(buffer, deadline.Token);
        return buffer.ToArray();
    }

    private static IEnumerable<(TlogFrameType Type, byte[] Body)> Frames(byte[] bytes)
    {
        var sequence = new ReadOnlySequence<byte>(bytes);
        while (TlogFrames.TryReadFrame(ref sequence, out var type, out var body)) yield return (type, body.ToArray());
    }
}
