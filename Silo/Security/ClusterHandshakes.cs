using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Jobs.Silo.Security;

/// <summary>
/// Wraps Orleans' TLS connection middleware to say why a handshake failed, with the peer's address,
/// once per peer and place rather than once per retry (an Orleans client retries every second or so).
/// </summary>
public sealed class ClusterHandshakes(ILogger<ClusterHandshakes> logger, TimeProvider time)
{
    /// <summary>How long further refusals of the same address, in the same place, stay out of the log.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromMinutes(10);

    private const int MaxRemembered = 10_000;

    // The attempt of the connection in hand; the certificate check runs inside its handshake, so in its async flow.
    private static readonly AsyncLocal<Attempt?> s_current = new();
    private readonly ConcurrentDictionary<(string Place, string Address), long> _logged = new();

    /// <summary>Records why the handshake in hand refuses its peer (called from the certificate check).</summary>
    public static void Refuse(string reason)
    {
        if (s_current.Value is { } attempt)
        {
            attempt.Refusal ??= reason;
        }
    }

    /// <summary>Adds <paramref name="tls"/> to a connection pipeline, with the watch of its handshake around it.</summary>
    /// <param name="builder">The connection pipeline.</param>
    /// <param name="place">Where the connection is, for the log: "silo port", "gateway port", "outbound".</param>
    /// <param name="tls">Adds Orleans' TLS middleware.</param>
    public void Guard(IConnectionBuilder builder, string place, Action<IConnectionBuilder> tls)
    {
        builder.Use(next => async context =>
        {
            var attempt = new Attempt();
            s_current.Value = attempt;
            try
            {
                await next(context);
            }
            finally
            {
                s_current.Value = null;
                if (!attempt.Established)
                {
                    Refused(place, context.RemoteEndPoint, attempt.Refusal);
                }
            }
        });
        tls(builder);

        // Reached only once the handshake has succeeded: Orleans' TLS middleware ends the connection otherwise.
        builder.Use(next => context =>
        {
            if (s_current.Value is { } attempt)
            {
                attempt.Established = true;
            }

            return next(context);
        });
    }

    private void Refused(string place, EndPoint? peer, string? reason)
    {
        string address = peer is IPEndPoint ip ? ip.Address.ToString() : peer?.ToString() ?? "an unknown address";
        long now = time.GetTimestamp();
        var key = (place, address);
        if (_logged.TryGetValue(key, out long last) && time.GetElapsedTime(last, now) < Quiet)
        {
            return;
        }

        if (_logged.Count >= MaxRemembered)
        {
            _logged.Clear();
        }

        _logged[key] = now;
        logger.LogWarning(
            new EventId(1, "ClusterHandshakeRefused"),
            "Refused an Orleans connection ({Place}) with {Peer}: {Reason}. Further refusals of {Address} here are not logged for {Quiet} minutes",
            place,
            peer?.ToString() ?? address,
            reason ?? "the mutual TLS 1.3 handshake failed (no certificate, no TLS or an older TLS, or the peer hung up, timed out or refused this side's certificate)",
            address,
            Quiet.TotalMinutes);
    }

    private sealed class Attempt
    {
        public string? Refusal { get; set; }

        public bool Established { get; set; }
    }
}
