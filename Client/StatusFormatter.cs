using System.Globalization;
using Jobs.Protos;

namespace Jobs.Client;

/// <summary>The one-line status shown by <c>ps</c> and <c>kill</c>, e.g. <c>Exited code=0</c>.</summary>
internal static class StatusFormatter
{
    public static string Format(JobStatus status) => (status.State switch
    {
        JobState.Running => string.Create(CultureInfo.InvariantCulture, $"Running pid={status.Pid}"),
        JobState.Exited => string.Create(CultureInfo.InvariantCulture, $"Exited code={status.ExitCode}"),
        JobState.Killed => string.Create(CultureInfo.InvariantCulture, $"Killed signal={(status.SignalName.Length > 0 ? status.SignalName : status.Signal)}"),
        // A newer server may add states; show the raw value rather than fail.
        _ => string.Create(CultureInfo.InvariantCulture, $"Unknown state={(int)status.State}"),
    }) + status.EndReason switch
    {
        EndReason.KilledByRequest => " (killed by request)",
        EndReason.TimedOut => " (timed out)",
        _ => string.Empty,
    };
}
