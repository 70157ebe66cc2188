using System.Runtime.ExceptionServices;

namespace ZeroDisk.Storage.Resp;

/// <summary>
/// Sends gathered per thread. While a batch is open on a thread (a burst of NBD requests being started, a burst of
/// engine replies being completed), a send asked for there joins the batch and runs once when it closes: a burst of
/// 32 requests goes to an engine in one send instead of 32, and their 32 replies to the client in one. On this
/// machine a loopback send costs more than the request's own work (docs/RESULTS.md, session 17).
/// <para>
/// A batch covers only code that runs synchronously on the thread that opened it: whoever opens one must close it
/// before awaiting anything that has not completed (the thread then goes on to unrelated work). Batches nest; the
/// outermost close sends. A batch never closed would hold its engine commands back until their command timeout, which
/// fails the engine: a detected failure, never a silent hang.
/// </para>
/// </summary>
public static class SendBatch
{
    [ThreadStatic] private static Batch? t_batch;

    /// <summary>Opens a batch on this thread (or nests in the open one).</summary>
    public static void Open() => (t_batch ??= new Batch()).Depth++;

    /// <summary>Closes this thread's batch; the outermost close runs every send that joined it.</summary>
    public static void Close()
    {
        var batch = t_batch;
        if (batch is not { Depth: > 0 }) throw new InvalidOperationException("no send batch is open on this thread");
        if (--batch.Depth == 0) batch.SendAll();
    }

    /// <summary>Joins this thread's open batch: false when none is open (then send now).</summary>
    public static bool TryJoin(Action send)
    {
        if (t_batch is not { Depth: > 0 } batch) return false;
        batch.Joined.Add(send);
        return true;
    }

    private sealed class Batch
    {
        public int Depth;
        public List<Action> Joined = [];
        private List<Action>? _spare = [];

        /// <summary>
        /// Runs every joined send. A send fails its own callers rather than throw; should one throw all the same, the
        /// others still run (a send skipped would hold its commands until their timeout) and the first error is rethrown.
        /// </summary>
        public void SendAll()
        {
            // Swapped first: a send that completes something which opens a batch again on this thread fills another list.
            var sends = Joined;
            Joined = _spare ?? [];
            _spare = null;
            ExceptionDispatchInfo? failed = null;
            foreach (var send in sends)
            {
                try
                {
                    send();
                }
                catch (Exception ex)
                {
                    failed ??= ExceptionDispatchInfo.Capture(ex);
                }
            }
            sends.Clear();
            _spare = sends;
            failed?.Throw();
        }
    }
}
