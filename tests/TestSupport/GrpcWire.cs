using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Jobs.TestSupport;

/// <summary>
/// gRPC over HTTP/2 written by hand (POST, <c>application/grpc</c>, length-prefixed frames), so that a
/// request body can be any bytes, as a broken or hostile client sends them.
/// </summary>
public static class GrpcWire
{
    /// <summary>One gRPC message frame: the compressed flag, the big-endian length (the payload's unless given), the payload.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload, byte compressedFlag = 0, uint? declaredLength = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = compressedFlag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    /// <summary>A gRPC call to <paramref name="url"/> (ending in <c>/package.Service/Method</c>) with <paramref name="body"/> as its request.</summary>
    public static HttpRequestMessage Post(string url, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        return request;
    }

    /// <summary>The <c>grpc-status</c> code in <paramref name="headers"/> (trailers, or the headers of a trailers-only answer); null when none.</summary>
    public static int? Status(HttpHeaders headers) =>
        headers.TryGetValues("grpc-status", out var values) && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out int code)
            ? code
            : null;
}
