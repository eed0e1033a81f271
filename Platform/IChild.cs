using System.Threading.Channels;

namespace Jobs.Platform;

/// <summary>
/// A running child process and the tree it starts. Output is handed over through a channel so that
/// its consumer reads it on its own scheduler; the platform never calls back into the consumer.
/// </summary>
public interface IChild
{
    /// <summary>The child's process id (on Unix also its process group id).</summary>
    int Pid { get; }

    /// <summary>
    /// Every chunk the child (and anything it started) wrote to stdout and stderr, in the order the
    /// reads completed. Completes after the child has exited and its output is drained: where the
    /// whole tree is tracked (a job cgroup), to end of file, however slowly it is read. Output is
    /// dropped only when the tree could not be proved gone (then an escaped descendant's socket gets
    /// a bounded drain) or when the consumer takes nothing for a long time after the tree is gone
    /// (it stopped reading).
    /// </summary>
    ChannelReader<ChildOutput> Output { get; }

    /// <summary>The child's stdin, when its spec kept it open (<see cref="ChildSpec.Stdin"/>, <see cref="ChildSpec.Terminal"/>); null when it reads <c>/dev/null</c>.</summary>
    IChildInput? Input { get; }

    /// <summary>
    /// Completes once the child has exited, every other process of its tree is gone, and
    /// <see cref="Output"/> is complete. It never faults and never stays pending once the child has
    /// exited and its output is consumed: when cleaning up after the exit fails, it still completes
    /// with the exit, and <see cref="ChildExit.Problem"/> says what failed.
    /// </summary>
    Task<ChildExit> Exited { get; }

    /// <summary>Kills the child's whole process tree at once; completes once the tree is gone.</summary>
    Task<ChildExit> KillAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Asks the whole tree to stop (SIGTERM on Unix), waits up to <paramref name="grace"/> for the
    /// child to exit, then kills the tree; completes once the tree is gone.
    /// </summary>
    Task<ChildExit> StopAsync(TimeSpan grace, CancellationToken cancellationToken);

    /// <summary>What the tree uses now; null where it is not counted (no job cgroup), and once the child has ended (see <see cref="ChildExit.Usage"/>).</summary>
    ChildUsage? Usage() => null;

    /// <summary>Sends one signal to the whole tree and nothing else; false once the child has ended.</summary>
    /// <exception cref="PlatformNotSupportedException">The OS has no such signal.</exception>
    bool Signal(string name);
}
