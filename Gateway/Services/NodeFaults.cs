using Jobs.Grains;

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
}
