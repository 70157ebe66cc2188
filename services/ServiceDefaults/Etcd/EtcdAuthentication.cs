using Etcdserverpb;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace ZeroDisk.ServiceDefaults.Etcd;

/// <summary>
/// etcd's authentication on every call of a client: a token is obtained once with the user's password (over a channel
/// of its own, without this interceptor) and sent as the <c>token</c> header. A token etcd no longer accepts (it
/// expired, or the member that issued a simple token restarted) is dropped: a unary call is retried once with a new
/// one; a stream fails as before and its caller's retry opens the next one with a new token. Without a user configured
/// no token is sent, and a refusal says that etcd asks for one: a process that lacks its credentials says so in its
/// log (naming the settings), never the password.
/// </summary>
public sealed class EtcdAuthentication(Lazy<GrpcChannel> authChannel, EtcdCredentials credentials) : Interceptor
{
    private const string TokenHeader = "token";
    private static readonly TimeSpan AuthenticateTimeout = TimeSpan.FromSeconds(15);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _token;

    /// <summary>etcd's answer to a missing, expired or foreign token.</summary>
    public static bool IsRefusedToken(RpcException ex) =>
        ex.StatusCode == StatusCode.Unauthenticated || ex.Status.Detail.Contains("invalid auth token", StringComparison.Ordinal);

    /// <summary>etcd refusing the caller: no user, a user it does not know or without the permission, a bad token.</summary>
    public static bool IsAuthRefusal(RpcException ex) =>
        IsRefusedToken(ex) || ex.StatusCode == StatusCode.PermissionDenied ||
        ex.Status.Detail.Contains("user name is empty", StringComparison.Ordinal) || ex.Status.Detail.Contains("authentication failed", StringComparison.Ordinal);

    /// <summary>The refusal with what this process presented, so its log says what to configure.</summary>
    private Exception Explained(Exception error) => error is RpcException ex && IsAuthRefusal(ex)
        ? new RpcException(new Status(ex.StatusCode, credentials.Authenticates
            ? $"{ex.Status.Detail} (etcd refused user '{credentials.User}'; check Etcd:User, Etcd:PasswordFile and the user's role)"
            : $"{ex.Status.Detail} (etcd has authentication on and this process has no etcd credentials: set Etcd:User and Etcd:PasswordFile)"), ex.Trailers)
        : error;

    private async Task<string> TokenAsync(CancellationToken ct)
    {
        if (!credentials.Authenticates) return "";
        if (Volatile.Read(ref _token) is { } token) return token;
        await _gate.WaitAsync(ct);
        try
        {
            if (_token is { } again) return again;
            var request = new AuthenticateRequest { Name = credentials.User, Password = credentials.ResolvedPassword() ?? "" };
            AuthenticateResponse response;
            try
            {
                response = await AuthenticateAsync(request, ct);
            }
            catch (RpcException ex) when (ex.Status.Detail.Contains("authentication is not enabled", StringComparison.Ordinal))
            {
                // An etcd without authentication takes calls without a token (a test's private cluster, a deployment
                // turning auth on in steps). Whether it is the real etcd is TLS's question (https endpoints, CaFile).
                return _token = "";
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

    /// <summary>
    /// Retried while etcd is briefly unavailable (a leader election, a member starting), as dotnet-etcd retries its own
    /// calls: the first call of a process must not fail where an anonymous one would have been retried.
    /// </summary>
    private async Task<AuthenticateResponse> AuthenticateAsync(AuthenticateRequest request, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await new Auth.AuthClient(authChannel.Value).AuthenticateAsync(request, deadline: DateTime.UtcNow + AuthenticateTimeout, cancellationToken: ct);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && attempt < 5)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500 * attempt), ct);
            }
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
        if (token.Length > 0) headers.Add(TokenHeader, token);
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
            catch (RpcException ex) when (attempt == 0 && token.Length > 0 && IsRefusedToken(ex))
            {
                Drop(token);
            }
            catch (RpcException ex) when (IsAuthRefusal(ex))
            {
                throw Explained(ex);
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
                catch (RpcException ex) when (attempt == 0 && token.Length > 0 && IsRefusedToken(ex))
                {
                    Drop(token);
                }
                catch (RpcException ex) when (IsAuthRefusal(ex))
                {
                    throw Explained(ex);
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
        return new AsyncServerStreamingCall<TResponse>(new TokenWatchingReader<TResponse>(call.ResponseStream, () => Drop(token), Explained),
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
            new TokenWatchingReader<TResponse>(call.ResponseStream, () => Drop(token), Explained),
            call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    /// <summary>A stream's replies, dropping the token when etcd ends the stream for it.</summary>
    private sealed class TokenWatchingReader<T>(IAsyncStreamReader<T> inner, Action refused, Func<Exception, Exception> explained) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            try
            {
                return await inner.MoveNext(cancellationToken);
            }
            catch (RpcException ex) when (IsAuthRefusal(ex))
            {
                if (IsRefusedToken(ex)) refused();
                throw explained(ex);
            }
        }
    }
}
