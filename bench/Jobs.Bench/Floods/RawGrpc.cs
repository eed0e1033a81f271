using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;
using Jobs.TestSupport;

namespace Jobs.Bench.Floods;

/// <summary>
/// gRPC calls made by hand over HTTP/2 (POST, <c>application/grpc</c>, length-prefixed frames), so that a
/// body can be anything: bytes no client library would send. Answers the call's outcome as a status name.
/// </summary>
internal sealed class RawGrpc(HttpClient http, string endpoint)
{
    private const string Service = "jobs.v1.Jobs";
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Sends <paramref name="body"/> as the request of <paramref name="method"/> and reads the answer to its end.
    /// The outcome: the grpc-status name, "HTTP n" when the answer is not a gRPC one, "no status" when none
    /// came, "timeout" after 30 s, or the client-side error.
    /// </summary>
    public async Task<string> CallAsync(string method, byte[] body, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        using var request = GrpcWire.Post($"{endpoint}/{Service}/{method}", body);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return $"HTTP {(int)response.StatusCode}";
            }

            // A trailers-only answer (an error before any message) carries the status in its headers.
            if (Status(response.Headers) is { } early)
            {
                return early;
            }

            await response.Content.CopyToAsync(Stream.Null, timeout.Token);
            return Status(response.TrailingHeaders) ?? "no status";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "timeout";
        }
        catch (HttpRequestException e)
        {
            return $"client error: {e.HttpRequestError}";
        }
        catch (IOException)
        {
            return "client error: connection reset";
        }
    }

    private static string? Status(HttpHeaders headers) => GrpcWire.Status(headers) is { } code ? ((StatusCode)code).ToString() : null;
}
