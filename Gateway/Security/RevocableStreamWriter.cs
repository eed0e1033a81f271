using Grpc.Core;

namespace Jobs.Gateway.Security;

/// <summary>
/// A server stream writer that keeps a revocation from resetting the HTTP/2 stream. grpc-dotnet resets
/// the stream when a write's token fires during the write, and the client would see CANCELLED; so
/// writes get the call's own token, and a revoked call fails its next write (and so ends with the
/// status <see cref="CallerInterceptor"/> gives it).
/// </summary>
internal sealed class RevocableStreamWriter<T>(IServerStreamWriter<T> inner, OpenCall call) : IServerStreamWriter<T>
{
    public WriteOptions? WriteOptions
    {
        get => inner.WriteOptions;
        set => inner.WriteOptions = value;
    }

    public Task WriteAsync(T message) => WriteAsync(message, CancellationToken.None);

    public Task WriteAsync(T message, CancellationToken cancellationToken)
    {
        if (call.Token.IsCancellationRequested)
        {
            return Task.FromCanceled(call.Token);
        }

        return inner.WriteAsync(message, cancellationToken == call.Token ? call.CallToken : cancellationToken);
    }
}
