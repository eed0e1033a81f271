using System.Collections.Concurrent;

namespace Jobs.Platform.Unix;

// Signalling a job's members, emptying and removing its folders, keeping emptied ones for the next job.
internal sealed partial class Cgroups
{
    // Folders of ended jobs that could not be emptied or removed in time (a member stuck in the
    // kernel, a folder made inside the job's): retried until they go, never forgotten.
    private readonly ConcurrentDictionary<string, byte> _stuck = new(StringComparer.Ordinal);
    private readonly Lock _retryGate = new();
    private Timer? _retry;

    /// <summary>How often folders whose removal failed are tried again.</summary>
    internal TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The folders of ended jobs not removed yet.</summary>
    internal ICollection<string> Stuck => _stuck.Keys;

    /// <summary>Removes an empty cgroup folder; false when it is still there.</summary>
    internal static bool TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A member appeared, or a folder was made inside it: the caller retries later.
            return false;
        }
    }

    /// <summary>Keeps trying to remove the folder of an ended job until it is gone.</summary>
    internal void RemoveLater(string folder)
    {
        _stuck[folder] = 0;
        lock (_retryGate)
        {
            _retry ??= new Timer(_ => RetryStuck(), null, RetryPeriod, Timeout.InfiniteTimeSpan);
        }
    }

    private void RetryStuck()
    {
        foreach (string folder in _stuck.Keys)
        {
            try
            {
                if (Signal(folder, LibC.SIGKILL) == 0 && TryDelete(folder))
                {
                    _stuck.TryRemove(folder, out _);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Tried again next time.
            }
        }

        lock (_retryGate)
        {
            if (_stuck.IsEmpty)
            {
                _retry?.Dispose();
                _retry = null;
            }
            else
            {
                _retry?.Change(RetryPeriod, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>
    /// Keeps the emptied folders of an ended job for the next one; false when they are not certainly
    /// empty, hold what would show in the next job's figures, or enough are kept already (then they are removed).
    /// </summary>
    internal bool TryKeep(JobCgroup job)
    {
        // pids.current counts a process from the moment it is forked until it is reaped, so a fork
        // still under way when the job's last member was killed keeps the folder out of the pool.
        if (_idle.Count >= MaxIdle || !IsEmpty(job.Tracking) || job.OomKills() > 0)
        {
            return false;
        }

        // A folder the job made inside one of its own (root may) fails the removal; it is retried.
        try
        {
            if (job.Folders.Any(folder => Directory.EnumerateDirectories(folder).Any()))
            {
                return false;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        // Page cache and kernel memory the job left stay charged to its memory folder: a folder
        // that keeps more than a little is not reused (the next job's memory would show it). Not
        // reclaimed here: memory.force_empty retries with sleeps of up to 100 ms while a page
        // stays, on the thread that ends the job.
        if (job.Of("memory") is { } memory && CgroupFiles.Number(Path.Combine(memory, "memory.usage_in_bytes")) is not (>= 0 and <= LeftAtMost))
        {
            return false;
        }

        job.Pool = null;
        _idle.Push(job);
        return true;
    }

    // The most a job may leave charged to its memory folder for the folder to be reused: what a
    // short program leaves in kernel memory (70-240 KiB measured for /bin/true), not a page cache.
    private const long LeftAtMost = 512 * 1024;

    private static bool IsEmpty(string folder)
    {
        try
        {
            return File.ReadAllText(Path.Combine(folder, "pids.current")).Trim() == "0" && Members(folder).Count == 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No pids controller here (or the folder is gone): nothing proves it empty.
            return false;
        }
    }

    /// <summary>Sends a signal to every process in the cgroup, except members of <paramref name="skipGroup"/>; returns how many members there were.</summary>
    public static int Signal(string cgroup, int signal, int skipGroup = 0)
    {
        int count = 0;
        foreach (int pid in Members(cgroup))
        {
            if (skipGroup == 0 || LibC.getpgid(pid) != skipGroup)
            {
                LibC.kill(pid, signal);
            }

            count++;
        }

        return count;
    }

    /// <summary>Kills every member until none is left; false when some are still there when the time is up.</summary>
    public static async Task<bool> EmptyAsync(string cgroup, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Signal(cgroup, LibC.SIGKILL) > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(5).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Kills every member until none is left (or the time is up), then removes the cgroup.</summary>
    public static async Task<bool> KillAndRemoveAsync(string cgroup, TimeSpan timeout)
    {
        if (!await EmptyAsync(cgroup, timeout).ConfigureAwait(false))
        {
            return false;
        }

        TryDelete(cgroup);
        return true;
    }

    private static List<int> Members(string cgroup)
    {
        var members = new List<int>();
        try
        {
            foreach (string line in File.ReadLines(Path.Combine(cgroup, "cgroup.procs")))
            {
                if (int.TryParse(line, out int pid))
                {
                    members.Add(pid);
                }
            }
        }
        catch (IOException)
        {
            // The cgroup is gone.
        }

        return members;
    }
}
