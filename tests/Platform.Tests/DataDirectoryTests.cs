using System.Diagnostics;
using Jobs.Platform.Storage;
using Jobs.TestSupport;

namespace Jobs.Platform.Tests;

/// <summary>The data directory: private to the server's user, and shared by servers without one deleting another's output.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataDirectoryTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private readonly string _scratch = Directory.CreateTempSubdirectory("jobs-data-directory-tests-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact(Timeout = 10_000)]
    public async Task A_new_data_directory_its_server_folder_and_a_spool_are_the_users_alone()
    {
        await Task.Yield();
        string root = Path.Combine(_scratch, "new", "data");

        using var directory = DataDirectory.Open(root);
        using var spool = new SpoolFile(directory.JobFolder("job"), 4096);
        spool.Append("output"u8);

        Assert.Equal(OwnerOnly, File.GetUnixFileMode(root));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(directory.ServerFolder));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(directory.JobFolder("job")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Directory.GetFiles(directory.JobFolder("job")).Single()));
        Assert.Equal(Path.Combine(root, $"server-{Environment.ProcessId}-"), directory.ServerFolder[..^8]);
    }

    [Fact(Timeout = 10_000)]
    public async Task A_directory_others_can_write_to_or_a_symbolic_link_is_refused()
    {
        await Task.Yield();
        string open = Directory.CreateDirectory(Path.Combine(_scratch, "open")).FullName;
        File.SetUnixFileMode(open, (UnixFileMode)0x1FF);
        string link = Path.Combine(_scratch, "link");
        string target = Directory.CreateDirectory(Path.Combine(_scratch, "target")).FullName;
        File.SetUnixFileMode(target, OwnerOnly);
        File.CreateSymbolicLink(link, target);

        var writable = Assert.Throws<InvalidOperationException>(() => DataDirectory.Open(open));
        var linked = Assert.Throws<InvalidOperationException>(() => DataDirectory.Open(link));
        using var ok = DataDirectory.Open(target);

        Assert.Equal($"'{open}' can be written by other users (mode 0777): they could replace the output kept there; chmod go-w it", writable.Message);
        Assert.Equal($"'{link}' is a symbolic link; give the directory itself", linked.Message);
        Assert.Empty(Directory.GetFileSystemEntries(open));
    }

    [Needs("root", Timeout = 10_000)]
    public async Task A_directory_another_user_owns_is_refused()
    {
        await Task.Yield();
        string theirs = Directory.CreateDirectory(Path.Combine(_scratch, "theirs")).FullName;
        File.SetUnixFileMode(theirs, OwnerOnly);
        Chown(theirs, "65534");

        var refused = Assert.Throws<InvalidOperationException>(() => DataDirectory.Open(theirs));

        Assert.StartsWith($"'{theirs}' is owned by uid 65534, not by the user the server runs as (uid 0)", refused.Message);
        Assert.Empty(Directory.GetFileSystemEntries(theirs));
    }

    [Fact(Timeout = 30_000)]
    public async Task Only_the_folders_of_ended_servers_are_removed()
    {
        string root = Path.Combine(_scratch, "shared");
        using var first = DataDirectory.Open(root);
        using var second = DataDirectory.Open(root);
        Directory.CreateDirectory(second.JobFolder("job"));
        string unrelated = Directory.CreateDirectory(Path.Combine(root, Guid.NewGuid().ToString())).FullName;
        // A server in another process, alive until killed, and one that ended without cleaning up.
        string alive = Path.Combine(root, "server-1-aaaaaaaa");
        string ended = Path.Combine(root, "server-2-bbbbbbbb");
        Directory.CreateDirectory(Path.Combine(alive, "job"));
        Directory.CreateDirectory(Path.Combine(ended, "job"));
        File.WriteAllText(ended + ".lock", string.Empty);
        // One process holds the lock (the shell execs sleep with the locked descriptor), so killing it ends the holder.
        using var holder = Process.Start(new ProcessStartInfo("sh", ["-c", "exec 9>\"$0\" && flock --exclusive 9 && exec sleep 600", alive + ".lock"]))!;
        try
        {
            await WaitLockedAsync(alive + ".lock");

            int removed = first.RemoveEnded();
            holder.Kill();
            await holder.WaitForExitAsync();
            int afterKill = first.RemoveEnded();

            Assert.Equal(1, removed);
            Assert.False(Directory.Exists(ended) || File.Exists(ended + ".lock"), "the ended server's output is still there");
            Assert.True(Directory.Exists(second.JobFolder("job")), "a live server's output in this process was removed");
            Assert.True(Directory.Exists(unrelated), "a folder no server made was removed");
            Assert.Equal(1, afterKill);
            Assert.False(Directory.Exists(alive), "the killed server's output is still there");
        }
        finally
        {
            if (!holder.HasExited)
            {
                holder.Kill();
            }
        }
    }

    [Fact(Timeout = 10_000)]
    public async Task A_server_that_stops_removes_its_own_folder()
    {
        await Task.Yield();
        string root = Path.Combine(_scratch, "stopping");
        var directory = DataDirectory.Open(root);
        Directory.CreateDirectory(directory.JobFolder("job"));

        directory.Dispose();

        Assert.Empty(Directory.GetFileSystemEntries(root));
    }

    // The holder takes the lock after it starts: wait until no one else can take it.
    private static async Task WaitLockedAsync(string lockFile)
    {
        for (int i = 0; i < 500; i++)
        {
            using var probe = Process.Start(new ProcessStartInfo("flock", ["--nonblock", "--exclusive", lockFile, "true"]))!;
            await probe.WaitForExitAsync();
            if (probe.ExitCode != 0)
            {
                return;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException($"{lockFile} was never locked");
    }

    private static void Chown(string path, string owner)
    {
        using var chown = Process.Start(new ProcessStartInfo("chown", [owner, path]))!;
        chown.WaitForExit();
        Assert.Equal(0, chown.ExitCode);
    }
}
