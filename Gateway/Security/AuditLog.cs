namespace Jobs.Gateway.Security;

/// <summary>
/// The audit events of the gateway, in category <c>Jobs.Audit</c> so that operators can route them
/// apart: one format for every call, whoever writes it (<see cref="CallerInterceptor"/> for the
/// calls it can see whole, the Attach handler for a duplex call's job and its detach).
/// </summary>
public sealed class AuditLog(ILoggerFactory loggers)
{
    private readonly ILogger _audit = loggers.CreateLogger("Jobs.Audit");

    /// <summary>
    /// One event; the command, the user and the detail are the caller's text, escaped so that a
    /// newline cannot fake an audit line nor ESC reach an operator's terminal. The user is a Run's
    /// account: the one its job runs as, or the one a refused Run asked for.
    /// </summary>
    public void Write(string call, string? identity, string? jobId, string? command, string? user, Grpc.Core.StatusCode outcome, string? detail, string peer) =>
        _audit.LogInformation(
            new EventId(1, "Audit"),
            "audit call={Call} identity={Identity} job={JobId} command={Command} user={User} outcome={Outcome} detail={Detail} peer={Peer}",
            call, identity ?? "(none)", jobId ?? "-", Jobs.Client.TerminalText.Escape(command ?? "-"), Jobs.Client.TerminalText.Escape(string.IsNullOrEmpty(user) ? "-" : user), outcome, Jobs.Client.TerminalText.Escape(detail ?? "-"), peer);
}
