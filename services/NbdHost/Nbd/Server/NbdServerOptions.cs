namespace ZeroDisk.Nbd;

public sealed class NbdServerOptions
{
    /// <summary>NBD's registered port.</summary>
    public const int DefaultPort = 10809;

    /// <summary>
    /// Requests of one connection that may run at once. A backend that answers synchronously never needs more
    /// than one; a slow one (network storage) keeps this many going while the receive loop reads on.
    /// </summary>
    public int MaxInFlightPerConnection { get; init; } = 64;

    /// <summary>A client that has not finished option haggling by then is disconnected.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
