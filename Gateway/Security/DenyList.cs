using System.Security.Cryptography.X509Certificates;

namespace Jobs.Gateway.Security;

/// <summary>
/// The revoked client certificates in force. The file is stat'ed on every call, so a revocation holds
/// from the next call on, and about every second by <see cref="DenyListWatcher"/>, so it reaches calls
/// already open (<see cref="OpenCalls"/>). A file that goes missing or cannot be read never means
/// "allow everyone": the last good list stays in force and one error is logged per change.
/// </summary>
public sealed class DenyList
{
    private readonly string? _path;
    private readonly ILogger<DenyList> _logger;
    private readonly Lock _gate = new();
    private DenyListFile _inForce;

    // The version that failed and was logged, so a failure is logged once, not on every call.
    private FileVersion? _failed;

    /// <param name="path">The file; null when no deny list is configured.</param>
    /// <param name="initial">The list as read at start, before the host was built.</param>
    /// <param name="logger">Where changes and failures are logged.</param>
    public DenyList(string? path, DenyListFile initial, ILogger<DenyList> logger)
    {
        _path = path;
        _inForce = initial;
        _logger = logger;
        if (path is not null)
        {
            logger.LogInformation("Deny list {Path}: {Count} revoked certificates", path, initial.Count);
        }
    }

    /// <summary>Raised, outside any lock, after a new list was read from the file (see <see cref="InForce"/>).</summary>
    public event Action? Changed;

    /// <summary>The list in force now, without looking at the file.</summary>
    public DenyListFile InForce => Volatile.Read(ref _inForce);

    /// <summary>True when the certificate's serial number or fingerprint is on the list (the file is stat'ed first).</summary>
    public bool IsDenied(X509Certificate2 certificate)
    {
        Refresh();
        return InForce.Contains(certificate);
    }

    /// <summary>Reads the file again if it changed since the last good read.</summary>
    public void Refresh()
    {
        if (_path is null)
        {
            return;
        }

        bool changed = false;
        var version = FileVersion.Of(_path);
        lock (_gate)
        {
            // A missing file changes nothing until it is back; one that exists but cannot be read is
            // tried again, since fixing its permissions does not change its version.
            if (version == _inForce.Version || (!version.Exists && _failed == version))
            {
                return;
            }

            try
            {
                var read = DenyListFile.Read(_path);
                _inForce = read;
                changed = true;
                _failed = null;
                _logger.LogInformation("Deny list {Path}: {Count} revoked certificates", _path, read.Count);
            }
            catch (InvalidOperationException e)
            {
                if (_failed != version)
                {
                    _failed = version;
                    _logger.LogError("{Problem}; the last good deny list ({Count} revoked certificates) stays in force", e.Message, _inForce.Count);
                }
            }
        }

        if (changed)
        {
            Changed?.Invoke();
        }
    }
}
