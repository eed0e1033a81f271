using System.Diagnostics;
using Jobs.TestChild;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>The data directory of real servers: private to the server's user, and shared by servers without one deleting another's output.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataDirectoryTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    // The server runs with no umask at all: every mode below is the server's own choice.
    private static readonly string[] NoUmask = ["sh", "-c", "umask 0 && exec \"$@\"", "sh"];

    private readonly string _scratch = Directory.CreateTempSubdirectory("jobs-e2e-data-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact(Timeout = 120_000)]
    public async Task The_default_data_directory_job_folders_and_spool_files_are_the_server_users_alone_whatever_the_umask()
    {
        string tmp = Directory.CreateDirectory(Path.Combine(_scratch, "tmp")).FullName;
        await using var server = await ServerProcess.StartCombinedUnderAsync(NoUmask, new Dictionary<string, string?> { ["TMPDIR"] = tmp });
        string id = await RunAndReadAsync(server, "hello\n", "sh", "-c", "echo hello");

        string root = Path.Combine(tmp, $"jobs-output-{Uid()}");
        string jobFolder = Directory.GetDirectories(root, id, SearchOption.AllDirectories).Single();
        string[] segments = Directory.GetFiles(jobFolder);

        Assert.Equal(OwnerOnly, File.GetUnixFileMode(root));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(Path.GetDirectoryName(jobFolder)!));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(jobFolder));
        Assert.NotEmpty(segments);
        Assert.All(segments, f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_data_directory_others_can_write_to_or_a_symbolic_link_stops_the_server_at_start()
    {
        string open = Directory.CreateDirectory(Path.Combine(_scratch, "open")).FullName;
        File.SetUnixFileMode(open, (UnixFileMode)0x1FF);
        string link = Path.Combine(_scratch, "link");
        File.CreateSymbolicLink(link, Directory.CreateDirectory(Path.Combine(_scratch, "target")).FullName);

        var writable = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartCombinedAsync($"--Jobs:DataDirectory={open}"));
        var linked = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartCombinedAsync($"--Jobs:DataDirectory={link}"));

        Assert.Contains($"Jobs:DataDirectory: '{open}' can be written by other users (mode 0777)", writable.Message, StringComparison.Ordinal);
        Assert.Contains($"Jobs:DataDirectory: '{link}' is a symbolic link", linked.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(open));
    }

    [Needs("root", Timeout = 120_000)]
    public async Task A_data_directory_another_user_made_first_stops_the_server_at_start()
    {
        // As a local user who knows the default name could make it in /tmp before the server starts.
        string tmp = Directory.CreateDirectory(Path.Combine(_scratch, "tmp")).FullName;
        string planted = Directory.CreateDirectory(Path.Combine(tmp, "jobs-output-0")).FullName;
        string configured = Directory.CreateDirectory(Path.Combine(_scratch, "configured")).FullName;
        Chown(planted, "65534");
        Chown(configured, "65534");

        var byDefault = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ServerProcess.StartCombinedWithEnvironmentAsync(new Dictionary<string, string?> { ["TMPDIR"] = tmp }));
        var asConfigured = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartCombinedAsync($"--Jobs:DataDirectory={configured}"));

        Assert.Contains($"Jobs:DataDirectory: '{planted}' is owned by uid 65534, not by the user the server runs as (uid 0)", byDefault.Message, StringComparison.Ordinal);
        Assert.Contains($"Jobs:DataDirectory: '{configured}' is owned by uid 65534", asConfigured.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(planted));
    }

    [Fact(Timeout = 240_000)]
    public async Task Servers_sharing_a_data_directory_keep_each_others_output_and_sweep_only_an_ended_ones()
    {
        string shared = Path.Combine(_scratch, "shared");
        string dataDirectory = $"--Jobs:DataDirectory={shared}";
        string expected = string.Concat(Enumerable.Range(0, 200).Select(i => $"line {i}\n"));
        await using var first = await ServerProcess.StartCombinedAsync(dataDirectory);
        // What the sweep used to delete: a folder named like a job id that no server here made.
        string unrelated = Directory.CreateDirectory(Path.Combine(shared, Guid.NewGuid().ToString())).FullName;
        string firstJob = await RunAndReadAsync(first, expected, TestChildProgram.Path, "drip", "200", "0");

        await using var second = await ServerProcess.StartCombinedAsync(dataDirectory);
        string secondJob = await RunAndReadAsync(second, expected, TestChildProgram.Path, "drip", "200", "0");
        Assert.Equal(expected, (await Cli.RunAsync(first.Endpoint, "logs", firstJob)).StdoutText);

        // Killed outright, the first server leaves its folder behind; the next server to start removes it.
        await first.KillHardAsync();
        string left = Assert.Single(Directory.GetDirectories(shared, $"server-{first.Pid}-*"));
        await using var third = await ServerProcess.StartCombinedAsync(dataDirectory);

        Assert.False(Directory.Exists(left), $"the killed server's output is still there\n{third.Log}");
        Assert.Empty(Directory.GetFiles(shared, $"server-{first.Pid}-*"));
        Assert.Equal(expected, (await Cli.RunAsync(second.Endpoint, "logs", secondJob)).StdoutText);
        Assert.True(Directory.Exists(unrelated), "a folder no server made was removed");
        Assert.Contains("(1 folders of ended servers removed)", third.Log, StringComparison.Ordinal);
    }

    private static async Task<string> RunAndReadAsync(ServerProcess server, string expected, params string[] command)
    {
        var run = await Cli.RunAsync(server.Endpoint, ["run", "--", .. command]);
        Assert.True(run.ExitCode == 0, run + "\n" + server.Log);
        string id = run.StdoutText.Trim();
        Assert.Equal(expected, (await Cli.RunAsync(server.Endpoint, "logs", id)).StdoutText);
        return id;
    }

    private static string Uid() => File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal))
        .Split('\t', StringSplitOptions.RemoveEmptyEntries)[2];

    private static void Chown(string path, string owner)
    {
        using var chown = Process.Start(new ProcessStartInfo("chown", [owner, path]))!;
        chown.WaitForExit();
        Assert.Equal(0, chown.ExitCode);
    }
}
