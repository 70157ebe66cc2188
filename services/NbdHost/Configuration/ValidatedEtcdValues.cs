using dotnet_etcd;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;

namespace ZeroDisk.NbdHost.Configuration;

/// <summary>
/// Reads JSON values of the etcd layout and keeps, per key, the last value that parsed and validated. A malformed
/// or invalid value is rejected with one log line naming the key (once per revision) and the last good value stays
/// in force; a deleted key is a real change and drops the value.
/// </summary>
public sealed class ValidatedEtcdValues(EtcdClient etcd, ILogger log)
{
    private readonly Dictionary<string, (long ModRevision, object Value)> _lastGood = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _rejected = new(StringComparer.Ordinal);

    /// <summary>The highest etcd revision seen by a read (to start a watch after it).</summary>
    public long Revision { get; private set; }

    public async Task<T?> ReadAsync<T>(string key, Func<T, IReadOnlyList<string>> validate, CancellationToken ct) where T : class
    {
        var response = await etcd.GetAsync(key, cancellationToken: ct);
        Revision = Math.Max(Revision, response.Header.Revision);
        if (response.Kvs.Count == 0)
        {
            _lastGood.Remove(key);
            return null;
        }
        var kv = response.Kvs[0];
        var hasGood = _lastGood.TryGetValue(key, out var good);
        if (hasGood && good.ModRevision == kv.ModRevision) return (T)good.Value;
        IReadOnlyList<string> problems;
        T? value = null;
        try
        {
            value = ZeroDiskJson.Deserialize<T>(kv.Value.ToStringUtf8());
            problems = validate(value);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or NotSupportedException or InvalidOperationException or ArgumentException or NullReferenceException)
        {
            problems = [$"not valid JSON for {typeof(T).Name}: {ex.Message}"];
        }
        if (problems.Count == 0)
        {
            _lastGood[key] = (kv.ModRevision, value!);
            _rejected.Remove(key);
            return value;
        }
        Reject(key, kv.ModRevision, string.Join("; ", problems), hasGood);
        return hasGood ? (T)good.Value : null;
    }

    /// <summary>Logs a rejected value once per key and revision.</summary>
    public void Reject(string key, long modRevision, string problems, bool keepingOld)
    {
        if (_rejected.TryGetValue(key, out var seen) && seen == modRevision) return;
        _rejected[key] = modRevision;
        log.LogError("rejected etcd key '{Key}' (revision {Revision}): {Problems}; {Consequence}", key, modRevision, problems,
            keepingOld ? "the last good value stays in force" : "no good value yet, so it is not used");
    }
}
