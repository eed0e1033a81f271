using System.Text;
using Jobs.Platform.Unix;
using Jobs.TestSupport;

namespace Jobs.Platform.Tests;

/// <summary>
/// A child run as an account (<see cref="ChildSpec.Account"/>), attacked as untrusted code would:
/// its ids and privileges, a set-user-ID program, a root-only file, the server's process, its own
/// cgroup, its terminal and its namespace. Each attack is also made by a child of the server's own
/// user (root), so that a check which could not fail shows.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ChildAccountTests : IAsyncLifetime, IDisposable
{
    // In systemd's range for dynamic users, unused by any account of a Debian system; one per test
    // class instance, so that no other test's child shares it.
    private static int s_nextUid = 61190 + (Environment.ProcessId % 100 * 10);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly UnixChildLauncher _launcher = new();
    private readonly string _scratch = Directory.CreateTempSubdirectory("jobs-account-tests-").FullName;
    private readonly ChildAccount _account;

    public ChildAccountTests()
    {
        uint uid = (uint)Interlocked.Increment(ref s_nextUid);
        string home = Path.Combine(_scratch, "home");

        // The account may pass through the scratch folder to its home, and no further.
        File.SetUnixFileMode(_scratch, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        if (Machine.IsRoot)
        {
            Accounts.EnsureHome(home, uid, uid);
        }
        else
        {
            // Every test here needs root; the home only has to exist for the account to be built.
            Directory.CreateDirectory(home);
        }

        _account = new ChildAccount("jobs-test", uid, uid, [uid + 1000, uid + 2000], home);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        using var cleanup = new CancellationTokenSource(Patience);
        await _launcher.KillAllAsync(cleanup.Token);
    }

    public void Dispose()
    {
        _launcher.Dispose();
        Directory.Delete(_scratch, recursive: true);
    }

    [Needs("root", Timeout = 30_000)]
    public async Task A_child_run_as_an_account_has_its_ids_groups_home_and_no_privileges()
    {
        var (stdout, exit) = await RunAsync(
            "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status; pwd; echo \"$HOME $USER $LOGNAME\"",
            _account);

        uint uid = _account.Uid;
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(
            $"Uid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{uid}\t{uid}\t{uid}\t{uid}\nGroups:\t{uid + 1000} {uid + 2000} \n"
            + "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n"
            + $"NoNewPrivs:\t1\n{_account.Home}\n{_account.Home} jobs-test jobs-test\n",
            stdout);
    }

    [Needs("root", Timeout = 30_000)]
    public async Task A_set_user_id_program_gives_an_account_nothing()
    {
        // A set-user-ID-root copy of id, where the file system honours set-user-ID bits.
        string program = Path.Combine(_scratch, "setuid-id");
        File.Copy("/usr/bin/id", program);
        File.SetUnixFileMode(program, UnixFileMode.SetUser | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var withoutJobs = await ProgramRunner.RunAsync(
            ["setpriv", $"--reuid={_account.Uid}", $"--regid={_account.Gid}", "--clear-groups", program, "-u"], null, Patience);

        var (stdout, exit) = await RunAsync($"{program} -u", _account);

        Assert.Equal("0\n", withoutJobs.Stdout);
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal($"{_account.Uid}\n", stdout);
    }

    [Needs("root", Timeout = 30_000)]
    public async Task An_account_cannot_read_a_root_only_file_nor_signal_the_server()
    {
        string secret = Path.Combine(_scratch, "secret.key");
        await File.WriteAllTextAsync(secret, "the server's key\n");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string attack = $"cat {secret} >/dev/null 2>&1; echo read=$?; kill -0 {Environment.ProcessId} 2>/dev/null; echo signal=$?";

        var (asRoot, _) = await RunAsync(attack, account: null);
        var (asAccount, exit) = await RunAsync(attack, _account);

        Assert.Equal("read=0\nsignal=0\n", asRoot);
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("read=1\nsignal=1\n", asAccount);
    }

    [Needs("root", "cgroup:pids", Timeout = 30_000)]
    public async Task An_account_cannot_raise_its_own_limits_nor_move_itself_out_of_its_cgroup()
    {
        // The child is told its pids.max and the cgroup.procs of its hierarchy's root once it runs;
        // the shell says why a redirection failed.
        const string Attack = "read limit; read outside; { echo 4096 > \"$limit\"; } 2>&1; cat \"$limit\"; { echo $$ > \"$outside\"; } 2>&1; echo end";

        var asRoot = await StartAttackAsync(Attack, account: null);
        var asAccount = await StartAttackAsync(Attack, _account);

        Assert.Equal("4096\nend\n", asRoot.Stdout);
        Assert.Equal(
            $"sh: 1: cannot create {asAccount.Limit}: Permission denied\n64\nsh: 1: cannot create {asAccount.Outside}: Permission denied\nend\n",
            asAccount.Stdout);
    }

    [Needs("root", Timeout = 30_000)]
    public async Task A_terminal_job_run_as_an_account_owns_its_terminal()
    {
        var child = await _launcher.StartAsync(
            new ChildSpec("sh", ["-c", "stat -c '%u %a' \"$(tty)\"; stty size; id -u"], Terminal: new TerminalSize(24, 80), Account: _account),
            CancellationToken.None);
        var (stdout, exit) = await ChildText.DrainAsync(child, Patience);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal($"{_account.Uid} 620\r\n24 80\r\n{_account.Uid}\r\n", stdout);
    }

    [Needs("isolation", Timeout = 30_000)]
    public async Task An_isolated_job_runs_as_its_account_as_PID_1_of_its_namespace()
    {
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", "id -u; echo $$; grep NoNewPrivs /proc/self/status"], Isolate: true, Account: _account), CancellationToken.None);
        var (stdout, exit) = await ChildText.DrainAsync(child, Patience);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal($"{_account.Uid}\n1\nNoNewPrivs:\t1\n", stdout);
    }

    [Needs("root", Timeout = 30_000)]
    public async Task An_account_with_too_many_groups_or_the_reserved_id_is_refused_and_nothing_runs()
    {
        var crowded = _account with { Groups = [.. Enumerable.Range(1, ChildAccount.MaxGroups + 1).Select(g => (uint)g)] };
        var reserved = _account with { Uid = uint.MaxValue };

        var tooMany = await Assert.ThrowsAsync<ArgumentException>(() => _launcher.StartAsync(new ChildSpec("true", [], Account: crowded), CancellationToken.None));
        var invalid = await Assert.ThrowsAsync<ArgumentException>(() => _launcher.StartAsync(new ChildSpec("true", [], Account: reserved), CancellationToken.None));

        Assert.StartsWith($"the account jobs-test has {ChildAccount.MaxGroups + 1} supplementary groups; at most {ChildAccount.MaxGroups} are supported", tooMany.Message, StringComparison.Ordinal);
        Assert.StartsWith("the account jobs-test has an invalid id (4294967295)", invalid.Message, StringComparison.Ordinal);
        Assert.Equal(0, _launcher.Running);
    }

    [Needs("root", Timeout = 30_000)]
    public async Task A_PATH_folder_the_account_cannot_search_counts_as_one_without_the_program()
    {
        // private/ is root's alone (as root's ~/.local/bin in the server's PATH); tools/ anyone's.
        const UnixFileMode Everyone = (UnixFileMode)0x1ED;
        string hidden = Path.Combine(_scratch, "private");
        string tools = Path.Combine(_scratch, "tools");
        Directory.CreateDirectory(hidden, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(tools, Everyone);
        await File.WriteAllTextAsync(Path.Combine(hidden, "hello"), "#!/bin/sh\necho root's hello\n");
        await File.WriteAllTextAsync(Path.Combine(tools, "hello"), "#!/bin/sh\necho hello\n");
        await File.WriteAllTextAsync(Path.Combine(tools, "plain"), "echo plain $1\n");
        await File.WriteAllTextAsync(Path.Combine(tools, "unrunnable"), "#!/bin/sh\necho ran\n");
        File.SetUnixFileMode(Path.Combine(hidden, "hello"), Everyone);
        File.SetUnixFileMode(Path.Combine(tools, "hello"), Everyone);
        File.SetUnixFileMode(Path.Combine(tools, "plain"), Everyone);
        File.SetUnixFileMode(Path.Combine(tools, "unrunnable"), (UnixFileMode)0x1A4);
        var path = new Dictionary<string, string> { ["PATH"] = $"{hidden}:{tools}:/usr/bin:/bin" };

        var (hello, _) = await ChildText.DrainAsync(await _launcher.StartAsync(new ChildSpec("hello", [], Environment: path, Account: _account), CancellationToken.None), Patience);
        var (plain, _) = await ChildText.DrainAsync(await _launcher.StartAsync(new ChildSpec("plain", ["text"], Environment: path, Account: _account), CancellationToken.None), Patience);
        var missing = await Assert.ThrowsAsync<ChildStartException>(() => _launcher.StartAsync(new ChildSpec("jobs-no-such-program", [], Environment: path, Account: _account), CancellationToken.None));
        var unrunnable = await Assert.ThrowsAsync<ChildStartException>(() => _launcher.StartAsync(new ChildSpec("unrunnable", [], Environment: path, Account: _account), CancellationToken.None));

        Assert.Equal("hello\n", hello);
        Assert.Equal("plain text\n", plain);
        Assert.Contains("No such file or directory", missing.Message, StringComparison.Ordinal);
        Assert.Contains("Permission denied", unrunnable.Message, StringComparison.Ordinal);
    }

    private async Task<(string Stdout, ChildExit Exit)> RunAsync(string script, ChildAccount? account)
    {
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", script], WorkingDirectory: account is null ? _scratch : null, Account: account), CancellationToken.None);
        return await ChildText.DrainAsync(child, Patience);
    }

    private async Task<(string Stdout, string Limit, string Outside)> StartAttackAsync(string script, ChildAccount? account)
    {
        var child = await _launcher.StartAsync(
            new ChildSpec("sh", ["-c", script], WorkingDirectory: _scratch, Limits: new ChildLimits(MaxProcesses: 64), Stdin: true, Account: account),
            CancellationToken.None);
        string limit = Machine.CgroupFile(child.Pid, "pids", "pids.max") ?? throw new InvalidOperationException("the child has no pids cgroup");

        // As root the child would leave its cgroup: it is given /dev/null to write instead.
        string outside = account is null
            ? "/dev/null"
            : Path.Combine(File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/pids", "cgroup.procs");
        Assert.True(child.Input!.TryWrite(Encoding.UTF8.GetBytes($"{limit}\n{outside}\n")));
        Assert.True(child.Input.Complete());
        var (stdout, exit) = await ChildText.DrainAsync(child, Patience);
        Assert.Equal(0, exit.ExitCode);
        return (stdout, limit, outside);
    }
}
