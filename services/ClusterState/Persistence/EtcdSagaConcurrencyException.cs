using MassTransit;

namespace ZeroDisk.ClusterState.Persistence;

/// <summary>Another instance (or message) changed what this transition read; the message is retried from a fresh load.</summary>
public sealed class EtcdSagaConcurrencyException(Type sagaType, Guid correlationId)
    : SagaException("etcd transaction compare failed: the saga or its projection changed since it was read", sagaType, correlationId);
