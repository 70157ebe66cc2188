namespace ZeroDisk.ClusterState.Persistence;

/// <summary>The &lt;type&gt; segment of <c>zerodisk/sagas/&lt;type&gt;/&lt;id&gt;</c>: the saga class name in kebab case without "Saga".</summary>
public static class SagaTypeNames
{
    public static string Of<TSaga>() => Cache<TSaga>.Name;

    private static class Cache<TSaga>
    {
        public static readonly string Name = Kebab(typeof(TSaga).Name.EndsWith("Saga", StringComparison.Ordinal) ? typeof(TSaga).Name[..^4] : typeof(TSaga).Name);
    }

    private static string Kebab(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
