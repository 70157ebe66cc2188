using dotnet_etcd;
using Etcdserverpb;

namespace ZeroDisk.ClusterState.Persistence;

/// <summary>
/// Group commit of small etcd transactions: the ones that arrive while <see cref="MaxCallsInFlight"/> calls are out
/// go together as one transaction (every compare and every operation, in order), and each caller gets its own part of
/// the answer. A burst of failure reports costs a few round trips instead of two per report; one transaction alone
/// goes at once, so a quiet moment waits for nothing. When the combined transaction fails (one of its compares no
/// longer holds) or is refused, each transaction of it is tried alone, so one changed saga does not fail the others.
/// </summary>
public sealed class EtcdTxnBatcher(EtcdClient etcd)
{
    /// <summary>
    /// Compares, and operations, per combined transaction: etcd refuses a transaction with more than 128 of either
    /// (--max-txn-ops).
    /// </summary>
    public const int MaxOpsPerCall = 128;

    public const int MaxCallsInFlight = 2;

    private readonly Lock _gate = new();
    private readonly Queue<List<Pending>> _full = new();
    private List<Pending>? _open;
    private int _openCompares;
    private int _openOps;
    private int _inFlight;
    private long _calls;

    /// <summary>Combined transactions sent so far (what a burst cost etcd).</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>
    /// Runs <paramref name="request"/> (no failure operations; at most <see cref="MaxOpsPerCall"/> compares and
    /// operations) with others: its answer carries only its own responses.
    /// </summary>
    public Task<TxnResponse> TransactionAsync(TxnRequest request)
    {
        if (request.Failure.Count > 0 || request.Compare.Count > MaxOpsPerCall || request.Success.Count > MaxOpsPerCall)
            throw new ArgumentException("a batched transaction has no failure operations and fits one etcd transaction", nameof(request));
        var pending = new Pending(request);
        List<Pending>? send = null;
        lock (_gate)
        {
            if (_open is not null && (_openCompares + request.Compare.Count > MaxOpsPerCall || _openOps + request.Success.Count > MaxOpsPerCall))
            {
                _full.Enqueue(_open);
                _open = null;
            }
            if (_open is null)
            {
                _open = [];
                _openCompares = _openOps = 0;
            }
            _open.Add(pending);
            _openCompares += request.Compare.Count;
            _openOps += request.Success.Count;
            if (_inFlight < MaxCallsInFlight)
            {
                send = TakeNext();
                _inFlight++;
            }
        }
        if (send is not null) _ = SendAsync(send);
        return pending.Done.Task;
    }

    /// <summary>The oldest batch waiting, or null. Called under the gate.</summary>
    private List<Pending>? TakeNext()
    {
        if (_full.TryDequeue(out var next)) return next;
        next = _open;
        _open = null;
        return next;
    }

    private async Task SendAsync(List<Pending> batch)
    {
        while (true)
        {
            await RunAsync(batch);
            lock (_gate)
            {
                var next = TakeNext();
                if (next is null)
                {
                    _inFlight--;
                    return;
                }
                batch = next;
            }
        }
    }

    private async Task RunAsync(List<Pending> batch)
    {
        Interlocked.Increment(ref _calls);
        if (batch.Count == 1)
        {
            await batch[0].RunAloneAsync(etcd);
            return;
        }
        var combined = new TxnRequest();
        foreach (var pending in batch)
        {
            combined.Compare.Add(pending.Request.Compare);
            combined.Success.Add(pending.Request.Success);
        }
        TxnResponse? response = null;
        try
        {
            // Not the callers' tokens: one caller giving up must not cancel the others' transaction.
            response = await etcd.TransactionAsync(combined, cancellationToken: CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Refused as a whole (e.g. two of them write one key): each on its own tells whose it is.
        }
        if (response is not { Succeeded: true })
        {
            await Task.WhenAll(batch.Select(p => p.RunAloneAsync(etcd)));
            return;
        }
        var at = 0;
        foreach (var pending in batch)
        {
            var own = new TxnResponse { Header = response.Header, Succeeded = true };
            own.Responses.Add(response.Responses.Skip(at).Take(pending.Request.Success.Count));
            at += pending.Request.Success.Count;
            pending.Done.TrySetResult(own);
        }
    }

    private sealed class Pending(TxnRequest request)
    {
        public TxnRequest Request { get; } = request;

        // Completed off the sender: the callers' continuations must not run one after another on its loop.
        public TaskCompletionSource<TxnResponse> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task RunAloneAsync(EtcdClient etcd)
        {
            try
            {
                Done.TrySetResult(await etcd.TransactionAsync(Request, cancellationToken: CancellationToken.None));
            }
            catch (Exception ex)
            {
                Done.TrySetException(ex);
            }
        }
    }
}
