using System.Security.Cryptography;
using System.Text;
using ZeroDisk.ClusterState.Extensions;

namespace ZeroDisk.ClusterState.Admin;

/// <summary>
/// Every mutating admin call (any method but GET, HEAD and OPTIONS) must carry <c>Authorization: Bearer &lt;token&gt;</c>
/// with the token from <c>ClusterState:AdminToken</c> or the file <c>ClusterState:AdminTokenFile</c> (read on each call,
/// so a rotated secret takes effect without a restart). Reads stay open: they show state, they change nothing.
/// Without a configured token every mutating call is refused (503): an admin API that anyone can use to purge a
/// vdisk or declare an engine lost is never the default.
/// </summary>
public sealed class AdminAuthentication(ClusterStateOptions options, ILogger<AdminAuthentication> log)
{
    public const string Scheme = "Bearer";

    public static bool IsMutating(string method) => !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method));

    /// <summary>The configured token, or null when none is (a missing or empty file counts as none).</summary>
    public string? ConfiguredToken()
    {
        if (!string.IsNullOrEmpty(options.AdminToken)) return options.AdminToken;
        if (string.IsNullOrEmpty(options.AdminTokenFile)) return null;
        try
        {
            return File.ReadAllText(options.AdminTokenFile).Trim() is { Length: > 0 } token ? token : null;
        }
        catch (IOException ex)
        {
            log.LogError(ex, "admin token file {File} cannot be read; mutating admin calls are refused", options.AdminTokenFile);
            return null;
        }
        catch (UnauthorizedAccessException ex)
        {
            log.LogError(ex, "admin token file {File} cannot be read; mutating admin calls are refused", options.AdminTokenFile);
            return null;
        }
    }

    /// <summary>Null when the request may go on, else the answer that refuses it.</summary>
    public IResult? Check(HttpContext http)
    {
        if (!IsMutating(http.Request.Method)) return null;
        var expected = ConfiguredToken();
        if (expected is null)
            return Results.Json(new { message = "no admin token is configured (ClusterState:AdminToken or ClusterState:AdminTokenFile): mutating calls are disabled" },
                statusCode: StatusCodes.Status503ServiceUnavailable);
        var header = http.Request.Headers.Authorization.ToString();
        var presented = header.StartsWith(Scheme + " ", StringComparison.OrdinalIgnoreCase) ? header[(Scheme.Length + 1)..].Trim() : null;
        if (presented is not null && TokensEqual(presented, expected)) return null;
        http.Response.Headers.WWWAuthenticate = Scheme;
        log.LogWarning("refused {Method} {Path} from {Remote}: {Why}", http.Request.Method, http.Request.Path.ToString().ReplaceLineEndings(" "),
            http.Connection.RemoteIpAddress, presented is null ? "no bearer token" : "wrong token");
        return Results.Json(new { message = presented is null ? "this call changes state: send Authorization: Bearer <admin token>" : "the admin token is wrong" },
            statusCode: StatusCodes.Status401Unauthorized);
    }

    /// <summary>Constant time whatever the tokens' lengths: both are hashed first, and the hashes compared with FixedTimeEquals.</summary>
    public static bool TokensEqual(string presented, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}

public static class AdminAuthenticationMiddleware
{
    /// <summary>Runs <see cref="AdminAuthentication.Check"/> in front of every endpoint, so no mutating endpoint can be added without it.</summary>
    public static WebApplication UseAdminAuthentication(this WebApplication app)
    {
        var authentication = app.Services.GetRequiredService<AdminAuthentication>();
        if (authentication.ConfiguredToken() is null)
            app.Logger.LogWarning("no admin token configured (ClusterState:AdminToken or ClusterState:AdminTokenFile): every mutating admin call will be refused");
        app.Use(async (http, next) =>
        {
            if (authentication.Check(http) is { } refused) await refused.ExecuteAsync(http);
            else await next(http);
        });
        return app;
    }
}
