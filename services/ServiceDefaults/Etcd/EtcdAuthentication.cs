using Etcdserverpb;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace ZeroDisk.ServiceDefaults.Etcd;

/// <summary>
/// etcd's authentication on every call of a client: a token is obtained once with the user's password (over a channel
/// of its own, without this interceptor) and sent as the <c>token</c> header. A token etcd no longer accepts (it
/// expired, or the member that issued a simple token restarted) is dropped: a unary call is retried once with a new
/// one; a stream fails as before and its caller's retry opens the next one with a new token. A refused password is
/// reported as such, naming the user and never the password.
/// </summary>
public sealed class EtcdAuthentication(GrpcChannel authChannel, EtcdCredentials credentials) : Interceptor
{
    private const string TokenHeader = "token";
    private static readonly TimeSpan AuthenticateTimeout = TimeSpan.FromSeconds(15);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _token;

    /// <summary>etcd's answer to a missing, expired or foreign token.</summary>
    public static bool IsRefusedToken(RpcException ex) =>
        ex.StatusCode == StatusCode.Unauthenticated || ex.Status.Detail.Contains("invalid auth token", StringComparison.Ordinal);

    private async Task<string> TokenAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _token) is { } token) return token;
        await _gate.WaitAsync(ct);
        try
        {
            if (_token is { } again) return again;
            var request = new AuthenticateRequest { Name = credentials.User, Password = credentials.ResolvedPassword() ?? "" };
            AuthenticateResponse response;
            try
            {
                response = await new Auth.AuthClient(authChannel).AuthenticateAsync(request, deadline: DateTime.UtcNow + AuthenticateTimeout, cancellationToken: ct);
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.FailedPrecondition)
            {
                throw new RpcException(new Status(ex.StatusCode, $"etcd refused to authenticate user '{credentials.User}' (Etcd:User, Etcd:PasswordFile): {ex.Status.Detail}"));
            }
            return _token = response.Token;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Drop(string token) => Interlocked.CompareExchange(ref _token, null, token);

    private static ClientInterceptorContext<TRequest, TResponse> WithToken<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context, string token)
        where TRequest : class where TResponse : class
    {
        var headers = new Metadata();
        if (context.Options.Headers is { } given)
            foreach (var entry in given)
                if (!string.Equals(entry.Key, TokenHeader, StringComparison.OrdinalIgnoreCase)) headers.Add(entry);
        headers.Add(TokenHeader, token);
        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(headers));
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        for (var attempt = 0; ; attempt++)
        {
            var token = TokenAsync(context.Options.CancellationToken).GetAwaiter().GetResult();
            try
            {
                return continuation(request, WithToken(context, token));
            }
            catch (RpcException ex) when (attempt == 0 && IsRefusedToken(ex))
            {
                Drop(token);
            }
        }
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        AsyncUnaryCall<TResponse>? current = null;
        async Task<TResponse> RunAsync()
        {
            for (var attempt = 0; ; attempt++)
            {
                var token = await TokenAsync(context.Options.CancellationToken);
                current = continuation(request, WithToken(context, token));
                try
                {
                    return await current.ResponseAsync;
                }
                catch (RpcException ex) when (attempt == 0 && IsRefusedToken(ex))
                {
                    Drop(token);
                }
            }
        }
        var response = RunAsync();
        return new AsyncUnaryCall<TResponse>(response,
            response.ContinueWith(_ => current?.ResponseHeadersAsync ?? Task.FromResult(new Metadata()), TaskScheduler.Default).Unwrap(),
            () => current?.GetStatus() ?? Status.DefaultSuccess, () => current?.GetTrailers() ?? [], () => current?.Dispose());
    }

    // Streams are opened rarely (a watch, a lease keep-alive): their token is awaited here, almost always from the cache.
    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var token = TokenAsync(context.Options.CancellationToken).GetAwaiter().GetResult();
        var call = continuation(request, WithToken(context, token));
        return new AsyncServerStreamingCall<TResponse>(new TokenWatchingReader<TResponse>(call.ResponseStream, () => Drop(token)),
            call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var token = TokenAsync(context.Options.CancellationToken).GetAwaiter().GetResult();
        return continuation(WithToken(context, token));
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var token = TokenAsync(context.Options.CancellationToken).GetAwaiter().GetResult();
        var call = continuation(WithToken(context, token));
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(call.RequestStream,
            new TokenWatchingReader<TResponse>(call.ResponseStream, () => Drop(token)),
            call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    /// <summary>A stream's replies, dropping the token when etcd ends the stream for it.</summary>
    private sealed class TokenWatchingReader<T>(IAsyncStreamReader<T> inner, Action refused) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            try
            {
                return await inner.MoveNext(cancellationToken);
            }
            catch (RpcException ex) when (IsRefusedToken(ex))
            {
                refused();
                throw;
            }
        }
    }
}
