using Grpc.Core;

namespace Jobs.EndToEnd.Tests;

/// <summary>Writing to a streaming call the server may already have ended.</summary>
public static class StreamingCalls
{
    /// <summary>
    /// Sends the first message of <paramref name="call"/>. The server may refuse a call from its
    /// headers alone (a revoked certificate, the call rate) before that message arrives; the write
    /// then fails with a CANCELLED of the client's own making, which says nothing of the refusal.
    /// That failure is passed over: the call's real status is what reading its responses reports,
    /// so a test asserts on the read, whichever of the two saw the refusal first.
    /// </summary>
    public static async Task WriteFirstAsync<TRequest, TResponse>(AsyncDuplexStreamingCall<TRequest, TResponse> call, TRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            await call.RequestStream.WriteAsync(request, cancellationToken);
        }
        catch (RpcException) when (!cancellationToken.IsCancellationRequested)
        {
            // The call has ended: its status comes from the response stream.
        }
    }
}
