using Jobs.Grains;
using Orleans.Runtime.Messaging;

namespace Jobs.Gateway.Services;

/// <summary>
/// What a call for a job raises while its node is dying and not yet declared dead: worth trying
/// again, never a fault of the call. Followers retry on these; other calls answer UNAVAILABLE.
/// </summary>
internal static class NodeFaults
{
    // The distributed directory gives up on a range whose owner is dying with a cancellation of its own.
    public static bool IsTransient(Exception e) =>
        e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or NodeUnreachableException or OperationCanceledException;

    /// <summary>
    /// This gateway reaches no silo at all (a split gateway whose silos are stopped or unreachable,
    /// or whose Orleans client is not connected yet or any more): nothing to do with any one job.
    /// </summary>
    public static bool IsClusterUnreachable(Exception e) =>
        e is ConnectionFailedException or ClientNotAvailableException or GatewayTooBusyException or OrleansLifecycleCanceledException
        || (e is OrleansMessageRejectionException and not SiloUnavailableException && e.Message.Contains("gateway", StringComparison.OrdinalIgnoreCase));
}
