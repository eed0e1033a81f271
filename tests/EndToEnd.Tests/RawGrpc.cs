using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// gRPC calls written by hand: any bytes as the request body (the 5-byte message header
/// included), over real mutual-TLS HTTP/2 connections, as a broken or hostile client sends them.
/// </summary>
public sealed class RawGrpc : IDisposable
{
    private readonly HttpClient[] _connections;
    private readonly string _endpoint;
    private int _next;

    /// <summary>Calls spread over <paramref name="connections"/> HTTP/2 connections.</summary>
    public RawGrpc(string endpoint, X509Certificate2 clientCertificate, int connections)
    {
        _endpoint = endpoint;
        _connections = [.. Enumerable.Range(0, connections).Select(_ => new HttpClient(GrpcClients.TlsHandler(clientCertificate)) { Timeout = TimeSpan.FromSeconds(60) })];
    }

    /// <summary>One gRPC message frame: the compressed flag, the big-endian length, the payload.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload, byte compressedFlag = 0, uint? declaredLength = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = compressedFlag;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    /// <summary>
    /// Posts <paramref name="body"/> to <paramref name="method"/> (such as <c>/jobs.v1.Jobs/Run</c>)
    /// and reads the whole answer; the gRPC status from the trailers (or the headers of a
    /// trailers-only answer), null when the answer had none.
    /// </summary>
    public async Task<(StatusCode? Status, string Message)> CallAsync(string method, byte[] body, CancellationToken cancellationToken)
    {
        var connection = _connections[(uint)Interlocked.Increment(ref _next) % _connections.Length];
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint + method)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        using var response = await connection.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await response.Content.CopyToAsync(Stream.Null, cancellationToken);
        var status = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
        string message = Uri.UnescapeDataString(Header(response.TrailingHeaders, "grpc-message") ?? Header(response.Headers, "grpc-message") ?? string.Empty);
        return (status is null ? null : (StatusCode)int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), message);
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }

    private static string? Header(HttpHeaders headers, string name) => headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}
