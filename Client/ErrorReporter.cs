using System.Net.Sockets;
using System.Security.Authentication;
using Grpc.Core;

namespace Jobs.Client;

/// <summary>
/// Turns any failure into the exit code and the one-line message the user sees; the only place
/// that decides either.
/// </summary>
internal static class ErrorReporter
{
    /// <param name="exception">What the command threw.</param>
    /// <param name="endpoint">The endpoint as the user gave it, for connection errors.</param>
    /// <param name="verbose">Add the status code and the underlying error (<c>--verbose</c>).</param>
    public static (int ExitCode, string Message) Describe(Exception exception, string endpoint, bool verbose = false)
    {
        var (exitCode, message) = exception switch
        {
            CliException cli => (cli.ExitCode, cli.Message),
            OperationCanceledException => (ExitCodes.Cancelled, "cancelled"),
            RpcException { StatusCode: StatusCode.Cancelled } => (ExitCodes.Cancelled, "cancelled"),
            RpcException rpc when IsTransportStatus(rpc.StatusCode) && FindTransportFailure(rpc) is { } failure =>
                (ExitCodes.Connection, $"cannot connect to {endpoint}: {Innermost(failure).Message}"),
            RpcException { StatusCode: StatusCode.NotFound } rpc => (ExitCodes.NotFound, ServerMessage(rpc)),
            RpcException { StatusCode: StatusCode.PermissionDenied or StatusCode.Unauthenticated } rpc => (ExitCodes.Permission, ServerMessage(rpc)),
            RpcException rpc => (ExitCodes.Failure, ServerMessage(rpc)),
            HttpRequestException or AuthenticationException or SocketException =>
                (ExitCodes.Connection, $"cannot connect to {endpoint}: {Innermost(exception).Message}"),
            _ => (ExitCodes.Failure, exception.Message),
        };

        if (verbose)
        {
            message += exception switch
            {
                RpcException rpc => $" [status {rpc.StatusCode}{(rpc.Status.DebugException is { } debug ? $"; {debug.GetType().Name}: {debug.Message}" : string.Empty)}]",
                _ => $" [{exception.GetType().Name}{(exception.InnerException is { } inner ? $"; {inner.GetType().Name}: {inner.Message}" : string.Empty)}]",
            };
        }

        return (exitCode, "jobs: " + OneLine(message));
    }

    private static bool IsTransportStatus(StatusCode code) =>
        code is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown;

    // Escaped here already so that a newline the detail echoes (from a command, say) shows as \n
    // instead of being folded into a space by OneLine.
    private static string ServerMessage(RpcException rpc) =>
        string.IsNullOrWhiteSpace(rpc.Status.Detail)
            ? $"the server answered {rpc.StatusCode}"
            : TerminalText.Escape(rpc.Status.Detail);

    /// <summary>The first connection or TLS failure under <paramref name="rpc"/>, if any.</summary>
    private static Exception? FindTransportFailure(RpcException rpc)
    {
        // Grpc.Net.Client keeps the cause in Status.DebugException and, in recent versions, also
        // as InnerException.
        Exception?[] roots = [rpc.InnerException, rpc.Status.DebugException];

        foreach (var root in roots)
        {
            for (var current = root; current is not null; current = current.InnerException)
            {
                if (current is HttpRequestException or AuthenticationException or IOException or SocketException)
                {
                    return current;
                }
            }
        }

        return null;
    }

    private static Exception Innermost(Exception exception)
    {
        var current = exception;
        while (current.InnerException is not null)
        {
            current = current.InnerException;
        }

        return current;
    }

    private static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
