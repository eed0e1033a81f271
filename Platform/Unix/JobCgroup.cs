namespace Jobs.Platform.Unix;


/// <summary>One job's cgroups: the first holds every process of the job; the others (cgroup v1) hold its limits.</summary>
/// <param name="Folders">The job's folders, the tracking one first.</param>
/// <param name="MemoryEvents">The file that counts the job's OOM kills (<c>memory.events</c> or v1 <c>memory.oom_control</c>), when memory is limited.</param>
internal sealed record JobCgroup(IReadOnlyList<string> Folders, string? MemoryEvents)
{
    /// <summary>Where the tracking folder goes back to once emptied, for a job that set no limits in it; null to remove it.</summary>
    public Cgroups? Pool { get; init; }

    /// <summary>The folder whose <c>cgroup.procs</c> lists every process of the job.</summary>
    public string Tracking => Folders[0];

    /// <summary>The processes the kernel killed for going over the memory limit (read before removal).</summary>
    public int OomKills()
    {
        if (MemoryEvents is null)
        {
            return 0;
        }

        try
        {
            foreach (string line in File.ReadLines(MemoryEvents))
            {
                if (line.StartsWith("oom_kill ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(9), out int kills))
                {
                    return kills;
                }
            }
        }
        catch (IOException)
        {
            // Gone already.
        }

        return 0;
    }

    /// <summary>The launcher's cgroups, which retry the removal of folders that could not be removed now.</summary>
    public Cgroups? Owner { get; init; }

    /// <summary>
    /// Kills every process of the job until none is left, then removes every folder; true when the
    /// tracking folder was emptied (no process of the job is left). A folder that cannot be emptied
    /// or removed now is handed to <see cref="Owner"/> to retry.
    /// </summary>
    public async Task<bool> KillAndRemoveAsync(TimeSpan timeout)
    {
        bool gone = await Cgroups.EmptyAsync(Tracking, timeout).ConfigureAwait(false);
        foreach (string folder in Folders)
        {
            bool emptied = folder == Tracking ? gone : await Cgroups.EmptyAsync(folder, timeout).ConfigureAwait(false);
            bool kept = emptied && folder == Tracking && Folders.Count == 1 && Pool is not null && Pool.TryKeep(folder);
            if (!kept && !(emptied && Cgroups.TryDelete(folder)))
            {
                Owner?.RemoveLater(folder);
            }
        }

        return gone;
    }
}
