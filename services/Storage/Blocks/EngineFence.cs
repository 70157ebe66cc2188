using System.Collections.Concurrent;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.Storage.Resp;

namespace ZeroDisk.Storage;

/// <summary>
/// One vdisk's fence on the engines (one writer per vdisk): its owner raises <c>fence:&lt;vdiskID&gt;</c> on every
/// engine it writes to up to its owner epoch, and every write it makes is one Lua script that first checks the
/// fence (rejected with <c>FENCED</c> when the engine's fence is above this epoch) and the engine's identity marker
/// (rejected with <c>IDENTITY</c>, an engine failure: the engine lost its data). A fenced write means this process
/// lost the vdisk to a newer owner: not an engine failure, so no failover and no report; the fence trips once and
/// the vdisk stops being served. Block writes to an engine are group-committed (<see cref="EngineWriteCombiner"/>):
/// one script call checks the fence and the marker once for many blocks.
/// </summary>
/// <param name="recentWindow">How long a written block stays in the vdisk's durable recent-write window on an engine (default 3 s).</param>
internal sealed class EngineFence(string vdiskId, long epoch, IOwnerLease? lease = null, TimeSpan? recentWindow = null)
{
    /// <summary>The error prefix of a write rejected by a higher fence epoch.</summary>
    public const string FencedError = "FENCED";

    // KEYS: fence, identity marker, the command's keys. ARGV: epoch, expected marker, command, the command's arguments.
    private const string CommandScript = """
        local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
        if fence > tonumber(ARGV[1]) then return redis.error_reply('FENCED fence epoch ' .. fence .. ' > ' .. ARGV[1]) end
        if redis.call('GET', KEYS[2]) ~= ARGV[2] then return redis.error_reply('IDENTITY marker missing or different') end
        local args = {}
        for i = 3, #KEYS do args[#args + 1] = KEYS[i] end
        for i = 4, #ARGV do args[#args + 1] = ARGV[i] end
        return redis.call(ARGV[3], unpack(args))
        """;

    /// <summary>
    /// Members one <see cref="CommandAsync"/> call may carry: the script passes them through Lua's unpack, which refuses
    /// more than ~8000 values; larger sets of members go in slices of this many (<see cref="SetMembersAsync"/>).
    /// </summary>
    private const int MaxCommandMembers = 4096;

    // KEYS: fence, identity marker. ARGV: epoch, expected marker. Only ever raises; returns the fence after the call.
    // An engine whose marker is not the registered one gets no fence (and is failed: identity is checked, never assumed).
    private const string RaiseScript = """
        if redis.call('GET', KEYS[2]) ~= ARGV[2] then return redis.error_reply('IDENTITY marker missing or different') end
        local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
        local mine = tonumber(ARGV[1])
        if fence < mine then redis.call('SET', KEYS[1], ARGV[1]) return mine end
        return fence
        """;

    public static readonly RedisKey MarkerKey = EngineIdentity.RedisKey;
    private readonly RedisKey _fenceKey = RedisKeys.Fence(vdiskId);
    private readonly ConcurrentDictionary<(StorageEngine, int), EngineWriteCombiner> _combiners = new();
    private int _tripped;

    public RedisKey FenceKey => _fenceKey;

    public RedisKey BlocksKey { get; } = RedisKeys.Blocks(vdiskId);

    /// <summary>The vdisk's durable recent-write window on each engine (sorted set, block by write time in ms).</summary>
    public RedisKey RecentKey { get; } = RedisKeys.RecentWrites(vdiskId);

    public TimeSpan RecentWindow { get; } = recentWindow ?? TimeSpan.FromSeconds(3);

    public long Epoch { get; } = epoch;

    public bool IsTripped => Volatile.Read(ref _tripped) != 0;

    /// <summary>Raised once, on the first write an engine rejected (or a raise that found a higher fence).</summary>
    public event Action<string>? Tripped;

    /// <summary>
    /// Writes one whole block (empty = delete), and marks it dirty for the twin when <paramref name="twinDirtyKey"/> is
    /// given, in the engine's next group commit. <paramref name="content"/> must stay unchanged until the task completes.
    /// </summary>
    public Task WriteBlockAsync(EngineSlot slot, long block, ReadOnlyMemory<byte> content, RedisKey? twinDirtyKey = null) =>
        _combiners.GetOrAdd((slot.Engine, slot.Db.Database), static (key, state) => new EngineWriteCombiner(state.Fence, state.Slot.Data, state.Slot.WatchedWrites, key.Item1),
                (Fence: this, Slot: slot))
            .WriteAsync(block, content, twinDirtyKey);

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

    /// <summary>
    /// SADD or SREM of any number of <paramref name="members"/> to one set behind the fence, in slices that Lua's unpack
    /// takes. Each slice is its own call: a failure can leave earlier slices done, which for a dirty set only ever
    /// means a block marked or cleared that a retry marks or clears again.
    /// </summary>
    public async Task SetMembersAsync(EngineSlot slot, string command, RedisKey set, RedisValue[] members)
    {
        foreach (var slice in members.Chunk(MaxCommandMembers))
            await CommandAsync(slot, command, [set], slice);
    }

    /// <summary>Raises the engine's fence to this epoch; trips (and returns false) when it is above already.</summary>
    public async Task<bool> RaiseAsync(EngineSlot slot)
    {
        if (!IsOwned()) return false;
        var fence = (long)await slot.Db.ScriptEvaluateAsync(RaiseScript, [_fenceKey, MarkerKey], [Epoch, slot.Engine.ExpectedIdentity]);
        if (fence <= Epoch) return true;
        Trip($"engine {slot.Address} holds fence epoch {fence}, above this process's owner epoch {Epoch}");
        return false;
    }

    /// <summary>
    /// Throws the fenced-out error when the fence has tripped, or when this process no longer holds its owner lease
    /// (tripping it then). Checked right before anything is sent to an engine, so a write that waited in a queue past
    /// the lease's local deadline is not sent after it.
    /// </summary>
    public void EnsureOwned()
    {
        if (!IsOwned()) throw Rejected();
    }

    /// <summary>Trips the fence when the owner lease is no longer held (the lease's Lost callback: no request needs to come first).</summary>
    public void CheckLease() => IsOwned();

    private bool IsOwned()
    {
        if (lease is { IsHeld: false }) Trip($"this process no longer holds its owner lease ({lease.LapseReason ?? "lost"})");
        return !IsTripped;
    }

    /// <summary>An engine rejected a write of this process: trips the fence; the error each write gets.</summary>
    public StorageIoException Rejected(string reason)
    {
        Trip(reason);
        return Rejected();
    }

    /// <summary>The error a request of a fenced-out vdisk gets.</summary>
    public StorageIoException Rejected() =>
        new(StorageError.Unavailable, $"vdisk {vdiskId}: fenced out (another process owns it with a higher epoch than {Epoch}); no longer served here");

    /// <summary>
    /// Runs a script whose KEYS start with the fence and the marker and whose ARGV start with the epoch and the expected
    /// marker (the script checks them itself, as <see cref="CommandAsync"/>'s does), then the caller's keys and args.
    /// </summary>
    public Task<RedisResult> EvaluateFencedAsync(EngineSlot slot, string script, RedisKey[] keys, RedisValue[] args) =>
        SendOwnedAsync(slot.Address, () => slot.Db.ScriptEvaluateAsync(script, [_fenceKey, MarkerKey, .. keys], [Epoch, slot.Engine.ExpectedIdentity, .. args]));

    /// <summary>
    /// Runs a block-writing script over an engine's data-path connection. Its KEYS start with
    /// <see cref="BlockWriteKeys"/>'s and its ARGV with <see cref="BlockWriteArgs"/>'s, and it checks them itself.
    /// Ownership is checked right before sending (a write may have waited past the owner lease's deadline); an engine
    /// that rejects the epoch trips the fence.
    /// </summary>
    public Task WriteOnDataPathAsync(RespConnection data, StorageEngine engine, RespScript script, RespArg[] keys, RespArg[] args) =>
        SendOwnedAsync(engine.Address, () => data.EvalAsync(script, keys, args));

    /// <summary>Reads of the fence and the marker a watched write may make before it gives up: each retry means one of them just changed.</summary>
    private const int WatchedWriteAttempts = 3;

    /// <summary>
    /// Runs <paramref name="writes"/> (commands on this vdisk's keys) as one MULTI/EXEC on a connection of the engine's
    /// own, guarded by WATCH on the fence and the identity marker instead of a script. The checks are
    /// <see cref="BlockWritePrologue"/>'s (a higher fence: <c>FENCED</c>, which trips this fence; another marker:
    /// <c>IDENTITY</c>; a lower fence is raised on the way), made here on the values read under the WATCH, and the engine
    /// applies the transaction only if neither key changed after that read: the engine still refuses every write of an
    /// older epoch. For writes of many blocks (a repair's copies), where a script's cost is the data itself: Lua copies
    /// every argument into a Lua string and back, which made the target's CPU per copied MiB twice a plain HSET's.
    /// </summary>
    public Task WriteWatchedAsync(EngineSlot slot, RespArg[][] writes) => WriteWatchedAsync(slot.Engine, slot.WatchedWrites, writes);

    /// <inheritdoc cref="WriteWatchedAsync(EngineSlot, RespArg[][])"/>
    public async Task WriteWatchedAsync(StorageEngine engine, ExclusiveConnections connections, RespArg[][] writes)
    {
        for (var attempt = 1; ; attempt++)
        {
            var exec = await SendOwnedAsync(engine.Address, () => connections.UseAsync(connection =>
                connection.WatchedTransactionAsync([_fenceKey, MarkerKey], values => GuardedWrites(values, engine, writes))));
            if (!exec.IsNull)
            {
                // Commands of an applied transaction fail one by one (e.g. a key of another type); none is expected here.
                if (exec.Items?.FirstOrDefault(static item => item.Kind == RespKind.Error) is { } error)
                    throw new RedisServerException($"{engine.Address}: a watched write failed in its transaction: {error.Text}");
                return;
            }
            if (attempt == WatchedWriteAttempts)
                throw new RedisServerException($"{engine.Address}: the fence or the identity marker of vdisk {vdiskId} changed under each of {attempt} watched writes");
        }
    }

    /// <summary>The transaction a watched write sends once the fence and the marker it read pass; throws what the script would reply.</summary>
    private RespArg[][] GuardedWrites(RespReply[] values, StorageEngine engine, RespArg[][] writes)
    {
        // The read took a round trip: the owner lease may have lapsed meanwhile.
        EnsureOwned();
        long fence = 0;
        if (!values[0].IsNull && !long.TryParse(values[0].Text, System.Globalization.CultureInfo.InvariantCulture, out fence))
            throw new RedisServerException($"ERR the fence of vdisk {vdiskId} holds '{values[0].Text}', not an epoch");
        if (fence > Epoch) throw new RedisServerException($"{FencedError} fence epoch {fence} > {Epoch}");
        if (values[1].Text != engine.ExpectedIdentity) throw new RedisServerException("IDENTITY marker missing or different");
        return fence < Epoch ? [["SET", _fenceKey, Epoch], .. writes] : writes;
    }

    /// <summary>
    /// The start of every block-writing script (KEYS and ARGV as <see cref="BlockWriteKeys"/> and
    /// <see cref="BlockWriteArgs"/> begin them): rejects a write under a higher fence epoch (<c>FENCED</c>) or to an
    /// engine whose identity marker is not the registered one (<c>IDENTITY</c>), and raises a lower fence on the way.
    /// </summary>
    public const string BlockWritePrologue = """
        local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
        local mine = tonumber(ARGV[1])
        if fence > mine then return redis.error_reply('FENCED fence epoch ' .. fence .. ' > ' .. mine) end
        if redis.call('GET', KEYS[3]) ~= ARGV[2] then return redis.error_reply('IDENTITY marker missing or different') end
        if fence < mine then redis.call('SET', KEYS[1], ARGV[1]) end

        """;

    /// <summary>A block-writing script's KEYS: fence, blocks hash, identity marker, recent-write window, then <paramref name="extra"/> free slots.</summary>
    public RespArg[] BlockWriteKeys(int extra)
    {
        var keys = new RespArg[4 + extra];
        keys[0] = _fenceKey;
        keys[1] = BlocksKey;
        keys[2] = MarkerKey;
        keys[3] = RecentKey;
        return keys;
    }

    /// <summary>A block-writing script's ARGV: epoch, expected marker, now (ms), recent window (ms), then <paramref name="extra"/> free slots.</summary>
    public RespArg[] BlockWriteArgs(StorageEngine engine, int extra)
    {
        var args = new RespArg[4 + extra];
        args[0] = Epoch;
        args[1] = engine.ExpectedIdentity;
        args[2] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        args[3] = (long)RecentWindow.TotalMilliseconds;
        return args;
    }

    /// <summary>
    /// EVALSHA: the client loads the script on first use per connection (pipelined before it, no extra round trip)
    /// and again after a restart or a NOSCRIPT, so the script text crosses the wire once per connection.
    /// </summary>
    private Task RunAsync(EngineSlot slot, string script, RedisKey[] keys, RedisValue[] args) =>
        SendOwnedAsync(slot.Address, () => slot.Db.ScriptEvaluateAsync(script, keys, args));

    /// <summary>
    /// Every fenced call to an engine: ownership is checked right before it is sent (it may have waited past the owner
    /// lease's deadline), and an engine that rejects this epoch trips the fence. A refusal comes back as a failed task.
    /// </summary>
    private async Task<T> SendOwnedAsync<T>(string address, Func<Task<T>> send)
    {
        EnsureOwned();
        try
        {
            return await send();
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith(FencedError, StringComparison.Ordinal))
        {
            throw Rejected($"engine {address} rejected a write: {ex.Message}");
        }
    }

    /// <summary>Trips the fence (once): also from this side, when this process can no longer prove it owns the vdisk.</summary>
    public void Trip(string reason)
    {
        if (Interlocked.Exchange(ref _tripped, 1) == 0) Tripped?.Invoke(reason);
    }
}
