using System.Net.Sockets;
using System.Security.Authentication;
using Grpc.Core;
using Jobs.Client.Connection;

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
            // The connect timeout comes as a cancellation (with a TimeoutException inside); only a
            // real Ctrl+C may be reported as one.
            _ when TransientFailures.ConnectTimedOut(exception) =>
                (ExitCodes.Connection, $"server unavailable: could not connect to {Authority(endpoint)} within {Durations.Format(JobsConnection.ConnectTimeout)}"),
            OperationCanceledException => (ExitCodes.Cancelled, "cancelled"),
            RpcException { StatusCode: StatusCode.Cancelled } => (ExitCodes.Cancelled, "cancelled"),
            RpcException rpc when IsTransportStatus(rpc.StatusCode) && TransientFailures.FindTransportFailure(rpc) is { } failure =>
                (ExitCodes.Connection, $"cannot connect to {endpoint}: {Innermost(failure).Message}"),
            // Cluster trouble behind a gateway that answered: the server is there but cannot serve.
            RpcException { StatusCode: StatusCode.Unavailable } rpc => (ExitCodes.Connection, "server unavailable: " + ServerMessage(rpc)),
            RpcException { StatusCode: StatusCode.DeadlineExceeded } rpc => (ExitCodes.Connection, "the server did not answer in time: " + ServerMessage(rpc)),
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

    // HOST:PORT of the endpoint, as the user would type it to a tool like nc.
    private static string Authority(string endpoint) =>
        Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) ? uri.Authority : endpoint;

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
