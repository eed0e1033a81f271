namespace Jobs.Client;

/// <summary>The process exit codes of <c>jobs</c>; scripts depend on them, so never renumber.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The server refused the call or failed (any status not below), or broke the protocol.</summary>
    public const int Failure = 1;

    /// <summary>Bad command line, or unreadable certificate, key or CA files.</summary>
    public const int Usage = 2;

    /// <summary>Cannot connect to the server, or the TLS handshake failed.</summary>
    public const int Connection = 3;

    /// <summary>No such job, or not the caller's (the server answers alike); or no live node of that name.</summary>
    public const int NotFound = 4;

    /// <summary>The server refused the caller: a revoked certificate, or a call only admins may make.</summary>
    public const int Permission = 5;

    /// <summary>The job's node left the cluster; the job and its output are gone (<c>logs</c>, <c>wait</c>, <c>run --follow/--wait</c>).</summary>
    public const int Lost = 6;

    /// <summary>Interrupted (Ctrl+C); 128 + SIGINT, as shells report it.</summary>
    public const int Cancelled = 130;
}
