using System.Net.Sockets;
using System.Security.Authentication;
using Grpc.Core;

namespace Jobs.Client.Connection;

/// <summary>
/// Which failed calls are worth making again: the server said it is unavailable, or the
/// connection under the call broke (a gateway restarted, a reset). Refusals (NOT_FOUND,
/// PERMISSION_DENIED, INVALID_ARGUMENT, ...) never are: asking again gets the same answer.
/// </summary>
internal static class TransientFailures
{
    /// <summary>True when the call failed for the connection's or the server's availability, not for what it asked.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        RpcException { StatusCode: StatusCode.Unavailable } => true,
        // A broken HTTP/2 connection surfaces as INTERNAL, UNKNOWN or CANCELLED (a reset stream)
        // with the I/O error inside; a status the server chose has none.
        RpcException { StatusCode: StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled } rpc => FindTransportFailure(rpc) is not null,
        HttpRequestException or IOException or SocketException => true,
        _ => false,
    };

    /// <summary>
    /// True when the call never reached the server: the connection or its TLS handshake could not be
    /// made (refused, unknown host, timed out, certificate refused).
    /// </summary>
    public static bool NeverReached(Exception exception) =>
        Causes(exception).Any(cause => cause is TimeoutException or AuthenticationException
            or HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError });

    /// <summary>True when the connection could not be made within the client's connect timeout.</summary>
    public static bool ConnectTimedOut(Exception exception) => Causes(exception).Any(cause => cause is TimeoutException);

    /// <summary>The first connection or TLS failure under <paramref name="rpc"/>, if any.</summary>
    public static Exception? FindTransportFailure(RpcException rpc) =>
        Causes(rpc).Skip(1).FirstOrDefault(cause => cause is HttpRequestException or AuthenticationException or IOException or SocketException);

    /// <summary>
    /// The exception and everything under it: inner exceptions, and for an RpcException its
    /// Status.DebugException (where Grpc.Net.Client keeps the cause; recent versions also set it as
    /// InnerException).
    /// </summary>
    private static IEnumerable<Exception> Causes(Exception exception)
    {
        yield return exception;
        Exception?[] roots = exception is RpcException rpc ? [rpc.InnerException, rpc.Status.DebugException] : [exception.InnerException];
        foreach (var root in roots)
        {
            for (var current = root; current is not null; current = current.InnerException)
            {
                yield return current;
            }
        }
    }
}
