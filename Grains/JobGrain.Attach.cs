namespace Jobs.Grains;

// Attaches: the job's stdin, its terminal, and the live wait for output.
public sealed partial class JobGrain
{
    public Task<OutputSlice> WaitOutputAsync(long position, int maxBytes, TimeSpan wait) => throw new NotImplementedException();

    public Task<AttachResult> AttachAsync(string session, bool input) => throw new NotImplementedException();

    public Task<InputResult> WriteInputAsync(string session, byte[] data) => throw new NotImplementedException();

    public Task<InputResult> EndInputAsync(string session) => throw new NotImplementedException();

    public Task<InputResult> ResizeAsync(string session, JobTerminal size) => throw new NotImplementedException();

    public Task DetachAsync(string session) => throw new NotImplementedException();
}
