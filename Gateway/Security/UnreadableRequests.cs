using System.Text;
using Google.Protobuf;
using Grpc.AspNetCore.Server;
using Grpc.Core;

namespace Jobs.Gateway.Security;

/// <summary>
/// The status of a gRPC request whose message could not be read. grpc-dotnet reads and parses the
/// request before any interceptor runs, and answers UNKNOWN ("Exception was thrown by handler")
/// for a message that does not parse or a frame header it cannot take. The gRPC status code
/// table says otherwise: INTERNAL for "error parsing request proto" and for framing (as
/// grpc-dotnet itself answers an incomplete message or a compressed one without an encoding), and
/// RESOURCE_EXHAUSTED for a message over the size limit. No marshaller or interceptor hook sees
/// these failures, so the answer is corrected here, after the call, while it is still unsent.
/// </summary>
public static class UnreadableRequests
{
    /// <summary>Answers requests whose message could not be read with the status the gRPC spec gives them.</summary>
    public static void UseUnreadableRequestStatus(this WebApplication app) => app.Use(async (context, next) =>
    {
        await next(context);
        // A call that failed while reading its request has sent nothing yet: its status sits in the
        // headers of a trailers-only response, which can still be changed.
        if (context.Response.HasStarted
            || context.Features.Get<IServerCallContextFeature>()?.ServerCallContext is not { } call
            || call.Status.StatusCode != StatusCode.Unknown
            || Classify(call.Status.DebugException, context.Request.Path) is not { } status)
        {
            return;
        }

        context.Response.Headers["grpc-status"] = ((int)status.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = PercentEncode(status.Detail);
    });

    private static Status? Classify(Exception? e, PathString method) => e switch
    {
        InvalidProtocolBufferException or DecoderFallbackException =>
            new Status(StatusCode.Internal, $"the request to {method} is not a valid protobuf message of its type: {e.Message}"),
        // An unknown compressed flag (not 0 or 1), or a compressed message that does not decompress.
        InvalidDataException => new Status(StatusCode.Internal, $"the request to {method} has a malformed gRPC message frame: {e.Message}"),
        // A frame header with a length of 2 GiB or more; any length over the limit is RESOURCE_EXHAUSTED already.
        IOException when e.Message.StartsWith("Message too large", StringComparison.Ordinal) =>
            new Status(StatusCode.ResourceExhausted, $"the request to {method} declares a message larger than the server receives: {e.Message}"),
        _ => null,
    };

    // grpc-message is percent-encoded (gRPC over HTTP/2): anything outside printable ASCII, and '%' itself.
    private static string PercentEncode(string text)
    {
        var encoded = new StringBuilder(text.Length);
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            if (b is >= 0x20 and <= 0x7E && b != (byte)'%')
            {
                encoded.Append((char)b);
            }
            else
            {
                encoded.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return encoded.ToString();
    }
}
