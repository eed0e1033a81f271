namespace Jobs.Grains;

/// <summary>One job: a process on the server, its state and its output. The key is the job id (a UUIDv7).</summary>
/// <remarks>Queries answer within 10 s or fail (a node that lost power does not answer): never the default 30 s.</remarks>
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Starts the job's process; answers once it is running.</summary>
    /// <exception cref="InvalidJobSpecException">The command is empty or cannot be passed to the OS.</exception>
    /// <exception cref="JobStartFailedException">The program does not exist or cannot be executed; no job exists then.</exception>
    /// <exception cref="JobAlreadyExistsException">This id was used already.</exception>
    /// <exception cref="DuplicateRunException">The spec's request id started another job of its owner, still kept; nothing was started.</exception>
    Task<JobStatus> StartAsync(JobSpec spec);

    /// <summary>The job's current status.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    [ResponseTimeout("00:00:10")]
    Task<JobStatus> GetStatusAsync();

    /// <summary>
    /// Stops the job's whole process tree: SIGTERM, up to <paramref name="grace"/> to exit, then
    /// SIGKILL. Answers with the final status if the tree is gone within a few seconds (a third of
    /// the silo's response timeout, 10 s at most); otherwise with the status then, still running,
    /// and the kill goes on: its end is announced on the job's stream like any end. No call waits
    /// out a long grace, so none times out while a kill goes on.
    /// </summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    /// <exception cref="InvalidRequestException">The grace is negative or longer than the server allows.</exception>
    Task<JobStatus> KillAsync(TimeSpan grace);

    /// <summary>Sends one signal to the job's process tree and nothing else; answers with the status at once.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    /// <exception cref="InvalidRequestException">There is no such signal.</exception>
    [ResponseTimeout("00:00:10")]
    Task<JobStatus> SignalAsync(string signal);

    /// <summary>
    /// A position from which the given stream's bytes at <paramref name="offset"/> and after can be
    /// read: at or before the first such byte, never after it.
    /// </summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    [ResponseTimeout("00:00:10")]
    Task<long> FindPositionAsync(OutputStreamKind stream, long offset);

    /// <summary>Forgets a finished job and deletes its output; a running job is left alone (returns false).</summary>
    Task<bool> ForgetAsync();

    /// <summary>Reads recorded output from a position of the job's whole output, at most about <paramref name="maxBytes"/>.</summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    [ResponseTimeout("00:00:10")]
    Task<OutputSlice> ReadOutputAsync(long position, int maxBytes);

    /// <summary>
    /// Like <see cref="ReadOutputAsync"/>, but while nothing is recorded at or after
    /// <paramref name="position"/> and the job runs, waits up to <paramref name="wait"/> (at most 10 s)
    /// for output or the end: an attach's live path, which a stream notice's polling would delay.
    /// </summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    [ResponseTimeout("00:00:20")]
    Task<OutputSlice> WaitOutputAsync(long position, int maxBytes, TimeSpan wait);

    /// <summary>
    /// An attach joins the job: with <paramref name="input"/>, <paramref name="session"/> (the
    /// attach's id, chosen by its gateway) becomes the one attach that writes the job's stdin and
    /// resizes its terminal, taking it from any earlier one (the latest attach is the person at the
    /// keyboard now; an earlier one may be a connection that is gone without a word).
    /// </summary>
    /// <exception cref="JobNotFoundException">No job has this id.</exception>
    /// <exception cref="JobHasNoStdinException"><paramref name="input"/> for a job started without stdin.</exception>
    [ResponseTimeout("00:00:10")]
    Task<AttachResult> AttachAsync(string session, bool input);

    /// <summary>
    /// Hands bytes to the job's stdin for the attach <paramref name="session"/>. Answers within a few
    /// seconds: <see cref="InputResult.Full"/> (nothing taken) while the job has not read what it was
    /// given, so the caller hands the same bytes over again and reads nothing more meanwhile.
    /// </summary>
    [ResponseTimeout("00:00:20")]
    Task<InputResult> WriteInputAsync(string session, byte[] data);

    /// <summary>End of the job's stdin after what was handed over, for the attach <paramref name="session"/>.</summary>
    [ResponseTimeout("00:00:10")]
    Task<InputResult> EndInputAsync(string session);

    /// <summary>Sets the job's terminal size, for the attach <paramref name="session"/> (<see cref="InputResult.Closed"/> without a terminal).</summary>
    [ResponseTimeout("00:00:10")]
    Task<InputResult> ResizeAsync(string session, JobTerminal size);

    /// <summary>The attach <paramref name="session"/> leaves; the job goes on. Its stdin, if it held it, is free for the next attach.</summary>
    [ResponseTimeout("00:00:10")]
    Task DetachAsync(string session);
}
