using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ServiceDefaults.Messaging;

public static class MessagingExtensions
{
    /// <summary>
    /// MassTransit over RabbitMQ (RABBITMQ_URI) with quorum queues, message retry and the in-memory outbox on
    /// every endpoint. This RabbitMQ has no delayed-exchange plugin, so no delayed redelivery or scheduling.
    /// A message that finds etcd unavailable waits for it (<see cref="EtcdUnavailableRetry"/>) instead of spending the
    /// endpoint's quick retries and faulting.
    /// </summary>
    /// <param name="endpointPrefix">Prefix of every endpoint (queue) name; lets several copies of a service share a
    /// broker without competing for each other's messages (tests, side-by-side stacks). It is the only way to name
    /// endpoints: MassTransit keeps the first formatter registered, so one set in <paramref name="configure"/> is ignored.</param>
    public static IHostApplicationBuilder AddMessaging(this IHostApplicationBuilder builder, Action<IBusRegistrationConfigurator>? configure = null, string? endpointPrefix = null)
    {
        var options = MessagingOptions.From(builder.Configuration);
        builder.Services.AddSingleton(options);
        // Start-up returns only once every endpoint (and its exchange bindings) exists, so nothing published
        // right after start is dropped for want of a binding.
        builder.Services.Configure<MassTransitHostOptions>(host => host.WaitUntilStarted = true);
        builder.Services.AddMassTransit(bus =>
        {
            bus.SetEndpointNameFormatter(new KebabCaseEndpointNameFormatter(endpointPrefix, includeNamespace: false));
            // No phone-home: MassTransit 8.4+ reports usage to its vendor's host unless told not to, and its
            // MASSTRANSIT_USAGE_TELEMETRY variable would turn it back on; ours is the last word on both.
            Environment.SetEnvironmentVariable("MASSTRANSIT_USAGE_TELEMETRY", "false");
            bus.DisableUsageTelemetry();
            configure?.Invoke(bus);
            bus.AddConfigureEndpointsCallback((context, _, endpoint) => endpoint.UseServiceEndpointDefaults(context, options));
            bus.UsingRabbitMq((context, rabbit) =>
            {
                // amqps:// turns TLS on (MassTransit reads the scheme); the broker's CA, when given, is the only root trusted.
                rabbit.Host(options.RabbitMqUri, host =>
                {
                    if (options.RabbitMqUri.Scheme != "amqps" || options.CaFile is null) return;
                    var authority = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(options.CaFile);
                    host.UseSsl(ssl => ssl.CertificateValidationCallback = (_, certificate, _, errors) => Security.ClientTls.ChainsTo(authority, certificate, errors));
                });
                rabbit.UseCompactJson();
                // The default prefetch (16) let a backlog build to seconds of latency here; 128 keeps p99 low.
                rabbit.PrefetchCount = options.PrefetchCount;
                rabbit.ConfigureEndpoints(context);
            });
        });
        return builder;
    }

    /// <summary>
    /// What every receive endpoint of every service gets, whatever its transport: quorum queues on RabbitMQ, patience
    /// while etcd is unreachable, quick retries, and the in-memory outbox (nothing is published before the message's
    /// work is done).
    /// </summary>
    public static void UseServiceEndpointDefaults(this IReceiveEndpointConfigurator endpoint, IRegistrationContext context, MessagingOptions options)
    {
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit && options.QuorumQueues)
            rabbit.SetQuorumQueue();
        endpoint.UseEtcdUnavailableRetry();
        endpoint.UseMessageRetry(retry =>
        {
            retry.Ignore<Exception>(EtcdUnavailableRetry.IsEtcdUnavailable); // the wait above has it
            retry.Exponential(options.RetryLimit, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(100));
        });
        endpoint.UseInMemoryOutbox(context);
    }

    /// <summary>
    /// Compact JSON on the wire: MassTransit's default options indent every message, which was 13% of the collector's
    /// CPU per event (DECISIONS, session 15 helper). Readers accept either form, so services of both kinds
    /// interoperate. MassTransit copies its process-wide options before the change, so a second bus in one process
    /// (tests, ClusterState's start-up rehearsal) configures a fresh copy instead of options already in use.
    /// </summary>
    public static void UseCompactJson(this IBusFactoryConfigurator bus) =>
        bus.ConfigureJsonSerializerOptions(json =>
        {
            json.WriteIndented = false;
            return json;
        });
}
