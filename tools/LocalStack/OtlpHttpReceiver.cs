using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;

namespace ZeroDisk.LocalStack;

/// <summary>One span as an OTLP exporter delivered it.</summary>
public sealed record ReceivedSpan(string Service, string TraceId, string SpanId, string ParentSpanId, string Name);

/// <summary>
/// A stand-in for Jaeger's OTLP/HTTP endpoint (<c>POST /v1/traces</c>, protobuf): real processes export to it with
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> and <c>OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</c>, and a test or the drill
/// reads back which service sent which span in which trace. It decodes only the fields it needs, straight from the
/// wire format of opentelemetry/proto/collector/trace/v1 (ExportTraceServiceRequest).
/// </summary>
public sealed class OtlpHttpReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private readonly Task _loop;

    private OtlpHttpReceiver(int port)
    {
        Endpoint = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Endpoint + "/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    /// <summary>The value for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>.</summary>
    public string Endpoint { get; }

    public IReadOnlyList<ReceivedSpan> Spans => _spans.ToArray();

    private long _requests;

    /// <summary>Export requests received on <c>/v1/traces</c>.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    private readonly ConcurrentQueue<string> _paths = new();

    /// <summary>The path of every request received (/v1/traces, /v1/metrics, /v1/logs…).</summary>
    public IReadOnlyList<string> Paths => _paths.ToArray();

    public static OtlpHttpReceiver Start() => new(FreePort.Next());

    /// <summary>Environment variables that make an OpenTelemetry .NET process export its traces here.</summary>
    public IReadOnlyDictionary<string, string> ExporterEnvironment() => new Dictionary<string, string>
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Endpoint,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "500",
    };

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            try
            {
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                _paths.Enqueue(context.Request.Url?.AbsolutePath ?? "");
                if (context.Request.Url?.AbsolutePath == "/v1/traces")
                {
                    foreach (var span in Decode(body.ToArray())) _spans.Enqueue(span);
                    Interlocked.Increment(ref _requests);
                }
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
            }
            catch (InvalidProtocolBufferException)
            {
                context.Response.StatusCode = 400;
            }
            context.Response.Close();
        }
    }

    /// <summary>ExportTraceServiceRequest{1: ResourceSpans{1: Resource{1: KeyValue}, 2: ScopeSpans{2: Span}}}.</summary>
    public static IEnumerable<ReceivedSpan> Decode(byte[] request)
    {
        var spans = new List<ReceivedSpan>();
        foreach (var resourceSpans in Fields(ByteString.CopyFrom(request), 1))
        {
            var service = "";
            foreach (var resource in Fields(resourceSpans, 1))
            foreach (var attribute in Fields(resource, 1))
                if (String(attribute, 1) == "service.name") service = Fields(Fields(attribute, 2).FirstOrDefault() ?? ByteString.Empty, 1).FirstOrDefault()?.ToStringUtf8() ?? "";
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            foreach (var span in Fields(scopeSpans, 2))
                spans.Add(new ReceivedSpan(service, Hex(span, 1), Hex(span, 2), Hex(span, 4), String(span, 5)));
        }
        return spans;
    }

    private static string Hex(ByteString message, int field) => Convert.ToHexStringLower((Fields(message, field).FirstOrDefault() ?? ByteString.Empty).Span);

    private static string String(ByteString message, int field) => Fields(message, field).FirstOrDefault()?.ToStringUtf8() ?? "";

    /// <summary>Every length-delimited value of one field number in a message; other fields are skipped.</summary>
    private static List<ByteString> Fields(ByteString message, int field)
    {
        var values = new List<ByteString>();
        var input = new CodedInputStream(message.ToByteArray());
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            if (WireFormat.GetTagFieldNumber(tag) == field && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                values.Add(input.ReadBytes());
            else
                input.SkipLastField();
        }
        return values;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
