using Microsoft.Extensions.Configuration;

namespace ZeroDisk.ServiceDefaults.Messaging;

/// <summary>Bus settings; RABBITMQ_URI is the one every script and test writes (run/infra.env).</summary>
public sealed record MessagingOptions(Uri RabbitMqUri, int PrefetchCount = 128, int RetryLimit = 5, bool QuorumQueues = true, string? CaFile = null)
{
    public const string UriKey = "RABBITMQ_URI";

    /// <summary>For an <c>amqps://</c> URI: the CA the broker's certificate must chain to (PEM); unset: the system's roots.</summary>
    public const string CaFileKey = "RABBITMQ_CA_FILE";

    public static MessagingOptions From(IConfiguration configuration)
    {
        var uri = configuration[UriKey];
        if (string.IsNullOrWhiteSpace(uri))
            throw new InvalidOperationException($"{UriKey} is not set (e.g. amqp://guest:guest@127.0.0.1:35672/); run scripts/infra.sh up and source run/infra.env");
        return new MessagingOptions(
            new Uri(uri),
            int.TryParse(configuration["RABBITMQ_PREFETCH"], out var prefetch) ? prefetch : 128,
            CaFile: configuration[CaFileKey] is { Length: > 0 } ca ? ca : null);
    }
}
