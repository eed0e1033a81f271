namespace Jobs.Platform.Unix;

// What the shim (Platform/native/jobs-shim.c) reports on its socket between spawn and exec.
internal sealed partial class UnixChildLauncher
{
    // The steps the shim reports on (STEP_* in Platform/native/jobs-shim.c).
    private enum ShimStep
    {
        Exec = 0,
        Cgroup = 1,
        Isolate = 2,
        Sysfs = 3,
        Terminal = 4,
        Account = 5,
        Oom = 6,
    }

    // What the shim's report socket said (see jobs-shim.c): the byte written just before exec, then
    // end of file (a successful exec closes it), or a failed step and errno.
    private enum ShimOutcome
    {
        Started,
        Failed,
        DiedBeforeExec,
        TimedOut,
    }

    private const byte ReachedExec = (byte)'x';

    private readonly record struct ShimReport(ShimOutcome Outcome, ShimStep Step = ShimStep.Exec, int Error = 0);

    private static async Task<ShimReport> ReadShimReportAsync(int fd, TimeSpan timeout)
    {
        using var socket = new System.Net.Sockets.Socket(new System.Net.Sockets.SafeSocketHandle(fd, ownsHandle: true));
        using var deadline = new CancellationTokenSource(timeout);
        var buffer = new byte[1 + 2 * sizeof(int)];
        int got = 0;
        try
        {
            while (got < buffer.Length)
            {
                int read = await socket.ReceiveAsync(buffer.AsMemory(got), System.Net.Sockets.SocketFlags.None, deadline.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                got += read;
            }
        }
        catch (OperationCanceledException)
        {
            return new ShimReport(ShimOutcome.TimedOut);
        }
        catch (System.Net.Sockets.SocketException)
        {
            // Treated as what was read by then says.
        }

        // A report comes alone (a step before the exec failed) or after the byte (the exec failed).
        int start = got > 0 && buffer[0] == ReachedExec ? 1 : 0;
        if (got - start == 2 * sizeof(int))
        {
            return new ShimReport(ShimOutcome.Failed, (ShimStep)BitConverter.ToInt32(buffer, start), BitConverter.ToInt32(buffer, start + sizeof(int)));
        }

        return got == 1 && start == 1 ? new ShimReport(ShimOutcome.Started) : new ShimReport(ShimOutcome.DiedBeforeExec);
    }

    private static string Ended(bool reaped, int status)
    {
        if (!reaped)
        {
            return "its end was not seen";
        }

        int signal = status & 0x7f;
        return signal == 0 ? $"exit code {(status >> 8) & 0xff}" : $"killed by {SignalNames.NameOf(signal)}";
    }
}
