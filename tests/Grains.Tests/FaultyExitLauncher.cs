using System.Threading.Channels;
using Jobs.Platform;

namespace Jobs.Grains.Tests;

/// <summary>
/// A launcher whose children's exit cannot be read: <see cref="IChild.Exited"/> faults. The real
/// platform cannot be made to fail there on demand, so this stands in for it; no process is started.
/// </summary>
/// <remarks>
/// Command <see cref="FaultsSoon"/>: the exit faults by itself after a moment. Any other command:
/// the child "runs" until it is stopped or killed, and then its exit faults.
/// </remarks>
internal sealed class FaultyExitLauncher : IChildLauncher
{
    public const string FaultsSoon = "faults-soon";

    private static int _pids = 4_000_000;

    public string TreeTracking => "nothing (a test launcher whose exits fault)";

    public Task<IChild> StartAsync(ChildSpec spec, CancellationToken cancellationToken)
    {
        var child = new FaultyChild(Interlocked.Increment(ref _pids));
        if (spec.Command == FaultsSoon)
        {
            _ = Task.Delay(300, CancellationToken.None).ContinueWith(_ => child.Fault(), TaskScheduler.Default);
        }

        return Task.FromResult<IChild>(child);
    }

    public Task KillAllAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private sealed class FaultyChild(int pid) : IChild
    {
        private readonly Channel<ChildOutput> _output = Channel.CreateUnbounded<ChildOutput>();
        private readonly TaskCompletionSource<ChildExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Pid { get; } = pid;

        public IChildInput? Input => null;

        public ChannelReader<ChildOutput> Output => _output.Reader;

        public Task<ChildExit> Exited => _exited.Task;

        public Task<ChildExit> KillAsync(CancellationToken cancellationToken)
        {
            Fault();
            return Exited;
        }

        public Task<ChildExit> StopAsync(TimeSpan grace, CancellationToken cancellationToken)
        {
            Fault();
            return Exited;
        }

        public bool Signal(string name) => !_exited.Task.IsCompleted;

        public void Fault()
        {
            _output.Writer.TryWrite(new ChildOutput(ChildStream.Stdout, "some output\n"u8.ToArray()));
            _output.Writer.TryComplete();
            _exited.TrySetException(new IOException("the exit status could not be read (a test fault)"));
        }
    }
}
