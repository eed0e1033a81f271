using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;

namespace Jobs.Bench.Floods;

/// <summary>
/// gRPC calls made by hand over HTTP/2 (POST, <c>application/grpc</c>, length-prefixed frames), so that a
/// body can be anything: bytes no client library would send. Answers the call's outcome as a status name.
/// </summary>
internal sealed class RawGrpc(HttpClient http, string endpoint)
{
    private const string Service = "jobs.v1.Jobs";
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>A gRPC frame: not compressed, a 4-byte big-endian length, then <paramref name="message"/>.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> message) => Frame(message, message.Length);

    /// <summary>A frame whose header declares <paramref name="declared"/> bytes, whatever follows.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> message, int declared)
    {
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), declared);
        message.CopyTo(frame.AsSpan(5));
        return frame;
    }

    /// <summary>
    /// Sends <paramref name="body"/> as the request of <paramref name="method"/> and reads the answer to its end.
    /// The outcome: the grpc-status name, "HTTP n" when the answer is not a gRPC one, "no status" when none
    /// came, "timeout" after 30 s, or the client-side error.
    /// </summary>
    public async Task<string> CallAsync(string method, byte[] body, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{endpoint}/{Service}/{method}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
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

    private static string? Status(HttpHeaders headers) =>
        headers.TryGetValues("grpc-status", out var values) && int.TryParse(values.FirstOrDefault(), out int code)
            ? ((StatusCode)code).ToString()
            : null;
}
