using Grpc.Core;

namespace Jobs.Gateway.Security;

/// <summary>
/// A request stream reader whose reads also end when the call's certificate is revoked: handlers such
/// as server reflection wait for the next request without a token of their own.
/// </summary>
internal sealed class RevocableStreamReader<T>(IAsyncStreamReader<T> inner, OpenCall call) : IAsyncStreamReader<T>
{
    public T Current => inner.Current;

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled || cancellationToken == call.Token)
        {
            return await inner.MoveNext(call.Token);
        }

        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, call.Token);
        return await inner.MoveNext(both.Token);
    }
}
