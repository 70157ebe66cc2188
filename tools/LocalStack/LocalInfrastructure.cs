namespace ZeroDisk.LocalStack;

/// <summary>
/// The RabbitMQ, etcd and Redis clusters a run shares: the environment variables (RABBITMQ_URI, ETCD_ENDPOINTS,
/// REDIS_PRIMARY, REDIS_SLAVE — what scripts/test.sh and scripts/run.sh export), else <c>scripts/infra.sh up</c>, which
/// starts the local Debian binaries. The tests' <c>SharedInfrastructure</c> tries Testcontainers before the script and
/// hands its answer here, so everything in one process uses the same servers.
/// </summary>
public static class LocalInfrastructure
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static InfrastructureEndpoints? _endpoints;

    public static Task<InfrastructureEndpoints> GetAsync() => GetAsync(StartLocalAsync);

    /// <param name="whenUnset">Where the endpoints come from when the environment names none (asked once per process).</param>
    public static async Task<InfrastructureEndpoints> GetAsync(Func<Task<InfrastructureEndpoints>> whenUnset)
    {
        if (_endpoints is not null) return _endpoints;
        await Gate.WaitAsync();
        try
        {
            return _endpoints ??= InfrastructureEndpoints.FromVariables(Environment.GetEnvironmentVariable) ?? await whenUnset();
        }
        finally
        {
            Gate.Release();
        }
    }

    public static async Task<InfrastructureEndpoints> StartLocalAsync()
    {
        var envFile = Path.Combine(RepoPaths.Root, "run", "infra.env");
        (await ExternalProcess.RunAsync(Path.Combine(RepoPaths.Root, "scripts", "infra.sh"), ["up"], TimeSpan.FromMinutes(10)))
            .EnsureSuccess("scripts/infra.sh up");
        return InfrastructureEndpoints.FromEnvFile(envFile) ?? throw new InvalidOperationException($"scripts/infra.sh up did not write {envFile}");
    }
}
