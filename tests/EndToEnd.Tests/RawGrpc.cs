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

    /// <summary>
    /// Posts <paramref name="body"/> to <paramref name="method"/> (such as <c>/jobs.v1.Jobs/Run</c>)
    /// and reads the whole answer; the gRPC status from the trailers (or the headers of a
    /// trailers-only answer), null when the answer had none.
    /// </summary>
    public async Task<(StatusCode? Status, string Message)> CallAsync(string method, byte[] body, CancellationToken cancellationToken)
    {
        var connection = _connections[(uint)Interlocked.Increment(ref _next) % _connections.Length];
        using var request = GrpcWire.Post(_endpoint + method, body);
        using var response = await connection.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await response.Content.CopyToAsync(Stream.Null, cancellationToken);
        var status = GrpcWire.Status(response.TrailingHeaders) ?? GrpcWire.Status(response.Headers);
        string message = Uri.UnescapeDataString(Header(response.TrailingHeaders, "grpc-message") ?? Header(response.Headers, "grpc-message") ?? string.Empty);
        return ((StatusCode?)status, message);
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
