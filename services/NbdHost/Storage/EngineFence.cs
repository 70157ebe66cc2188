using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.Nbd;

namespace ZeroDisk.NbdHost.Storage;

/// <summary>
/// One vdisk's fence on the engines (DESIGN §3 invariant 5): its owner raises <c>fence:&lt;vdiskID&gt;</c> on every
/// engine it writes to up to its owner epoch, and every write it makes is one Lua script that first checks the
/// fence (rejected with <c>FENCED</c> when the engine's fence is above this epoch) and the engine's identity marker
/// (rejected with <c>IDENTITY</c>, an engine failure: the engine lost its data). A fenced write means this process
/// lost the vdisk to a newer owner: not an engine failure, so no failover and no report; the fence trips once and
/// the vdisk stops being served.
/// </summary>
internal sealed class EngineFence(string vdiskId, long epoch)
{
    /// <summary>The error prefix of a write rejected by a higher fence epoch.</summary>
    public const string FencedError = "FENCED";

    // KEYS: fence, blocks hash, identity marker[, dirty set of the twin]. ARGV: epoch, expected marker ('' = none
    // registered), block, content ('' = all zeroes: delete). Raises a lower fence on the way (an engine that was
    // down when the owner took over), so a stale writer behind this one is fenced there too.
    private const string WriteBlockScript = """
        local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
        local mine = tonumber(ARGV[1])
        if fence > mine then return redis.error_reply('FENCED fence epoch ' .. fence .. ' > ' .. mine) end
        if ARGV[2] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[2] then return redis.error_reply('IDENTITY marker missing or different') end
        if fence < mine then redis.call('SET', KEYS[1], ARGV[1]) end
        if KEYS[4] then redis.call('SADD', KEYS[4], ARGV[3]) end
        if ARGV[4] == '' then return redis.call('HDEL', KEYS[2], ARGV[3]) end
        return redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
        """;

    // KEYS: fence, identity marker, the command's keys. ARGV: epoch, expected marker, command, the command's arguments.
    private const string CommandScript = """
        local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
        if fence > tonumber(ARGV[1]) then return redis.error_reply('FENCED fence epoch ' .. fence .. ' > ' .. ARGV[1]) end
        if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[2] then return redis.error_reply('IDENTITY marker missing or different') end
        local args = {}
        for i = 3, #KEYS do args[#args + 1] = KEYS[i] end
        for i = 4, #ARGV do args[#args + 1] = ARGV[i] end
        return redis.call(ARGV[3], unpack(args))
        """;

    // KEYS: fence. ARGV: epoch. Only ever raises; returns the fence after the call.
    private const string RaiseScript = """
        local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
        local mine = tonumber(ARGV[1])
        if fence < mine then redis.call('SET', KEYS[1], ARGV[1]) return mine end
        return fence
        """;

    private static readonly RedisKey MarkerKey = EngineIdentity.RedisKey;
    private readonly RedisKey _fenceKey = RedisKeys.Fence(vdiskId);
    private readonly RedisKey[] _writeKeys = [RedisKeys.Fence(vdiskId), RedisKeys.Blocks(vdiskId), MarkerKey];
    private int _tripped;

    public long Epoch { get; } = epoch;

    public bool IsTripped => Volatile.Read(ref _tripped) != 0;

    /// <summary>Raised once, on the first write an engine rejected (or a raise that found a higher fence).</summary>
    public event Action<string>? Tripped;

    /// <summary>Writes one whole block (empty = delete), and marks it dirty for the twin when <paramref name="twinDirtyKey"/> is given.</summary>
    public Task WriteBlockAsync(EngineSlot slot, long block, ReadOnlyMemory<byte> content, RedisKey? twinDirtyKey = null) =>
        RunAsync(slot, WriteBlockScript,
            twinDirtyKey is { } dirty ? [_writeKeys[0], _writeKeys[1], MarkerKey, dirty] : _writeKeys,
            [Epoch, slot.Engine.ExpectedIdentity, block, content]);

    /// <summary>Runs one bookkeeping command (SADD, SREM, SET, DEL) on <paramref name="keys"/> behind the fence.</summary>
    public Task CommandAsync(EngineSlot slot, string command, RedisKey[] keys, params RedisValue[] args)
    {
        var allKeys = new RedisKey[2 + keys.Length];
        allKeys[0] = _fenceKey;
        allKeys[1] = MarkerKey;
        keys.CopyTo(allKeys, 2);
        var allArgs = new RedisValue[3 + args.Length];
        allArgs[0] = Epoch;
        allArgs[1] = slot.Engine.ExpectedIdentity;
        allArgs[2] = command;
        args.CopyTo(allArgs, 3);
        return RunAsync(slot, CommandScript, allKeys, allArgs);
    }

    /// <summary>Raises the engine's fence to this epoch; trips (and returns false) when it is above already.</summary>
    public async Task<bool> RaiseAsync(EngineSlot slot)
    {
        var fence = (long)await slot.Db.ScriptEvaluateAsync(RaiseScript, [_fenceKey], [Epoch]);
        if (fence <= Epoch) return true;
        Trip($"engine {slot.Address} holds fence epoch {fence}, above this process's owner epoch {Epoch}");
        return false;
    }

    /// <summary>The error a request of a fenced-out vdisk gets.</summary>
    public NbdIoException Rejected() =>
        new(NbdError.EIO, $"vdisk {vdiskId}: fenced out (another process owns it with a higher epoch than {Epoch}); no longer served here");

    /// <summary>
    /// EVALSHA: the client loads the script on first use per connection (pipelined before it, no extra round trip)
    /// and again after a restart or a NOSCRIPT, so the script text crosses the wire once per connection.
    /// </summary>
    private async Task RunAsync(EngineSlot slot, string script, RedisKey[] keys, RedisValue[] args)
    {
        try
        {
            await slot.Db.ScriptEvaluateAsync(script, keys, args);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith(FencedError, StringComparison.Ordinal))
        {
            Trip($"engine {slot.Address} rejected a write: {ex.Message}");
            throw Rejected();
        }
    }

    /// <summary>Trips the fence (once): also from this side, when this process can no longer prove it owns the vdisk.</summary>
    public void Trip(string reason)
    {
        if (Interlocked.Exchange(ref _tripped, 1) == 0) Tripped?.Invoke(reason);
    }
}
