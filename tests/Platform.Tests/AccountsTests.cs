using Jobs.Platform.Unix;
using Jobs.TestSupport;

namespace Jobs.Platform.Tests;

/// <summary>Accounts found in the user database, checked against <c>id</c> and <c>getent</c>, and homes of their own.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AccountsTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly UnixChildLauncher _launcher = new();
    private readonly string _scratch = Directory.CreateTempSubdirectory("jobs-accounts-tests-").FullName;

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

    [Fact(Timeout = 60_000)]
    public async Task Every_user_of_the_machine_is_found_with_the_ids_groups_and_home_that_id_and_getent_give()
    {
        var names = File.ReadLines("/etc/passwd").Select(line => line.Split(':')[0]).Where(name => name.Length > 0).ToList();

        foreach (string name in names)
        {
            var account = Accounts.Find(name);
            uint gid = uint.Parse(await IdAsync("-g", name));
            string[] passwd = (await RunAsync("getent", "passwd", name)).Split(':');

            Assert.Equal(name, account.Name);
            Assert.Equal(uint.Parse(await IdAsync("-u", name)), account.Uid);
            Assert.Equal(gid, account.Gid);
            Assert.Equal((await IdAsync("-G", name)).Split(' ').Select(uint.Parse).Where(g => g != gid).Order(), account.Groups.Order());
            Assert.Equal(passwd[5], account.Home);
        }
    }

    [Fact(Timeout = 10_000)]
    public async Task Uid_and_gid_take_the_name_and_home_of_a_known_uid_and_stand_alone_otherwise()
    {
        await Task.Yield();

        var root = Accounts.Find("0:0");
        var unknown = Accounts.Find("61184:61185");

        Assert.Equal(("root", 0u, 0u, "/root"), (root.Name, root.Uid, root.Gid, root.Home));
        Assert.Empty(root.Groups);
        Assert.Equal(("61184", 61184u, 61185u, "/"), (unknown.Name, unknown.Uid, unknown.Gid, unknown.Home));
        Assert.Empty(unknown.Groups);
    }

    [Theory(Timeout = 10_000)]
    [InlineData("jobs-no-such-user", "no user 'jobs-no-such-user' on this machine")]
    [InlineData("1:x", "'1:x' is neither a user name nor UID:GID (two numbers below 4294967295)")]
    [InlineData("4294967295:0", "'4294967295:0' is neither a user name nor UID:GID")]
    [InlineData("-1:0", "'-1:0' is neither a user name nor UID:GID")]
    public async Task An_unknown_user_or_a_malformed_account_is_refused(string account, string message)
    {
        await Task.Yield();

        var refused = Assert.Throws<ArgumentException>(() => Accounts.Find(account));

        Assert.StartsWith(message, refused.Message, StringComparison.Ordinal);
    }

    [Needs("root", Timeout = 30_000)]
    public async Task A_home_is_its_accounts_alone_and_another_account_cannot_look_inside()
    {
        // Homes sit in a folder others may pass through but not list.
        File.SetUnixFileMode(_scratch, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var owner = new ChildAccount("jobs-owner", 61170, 61170, [], Path.Combine(_scratch, "61170"));
        var other = new ChildAccount("jobs-other", 61171, 61171, [], Path.Combine(_scratch, "61171"));
        Accounts.EnsureHome(owner.Home, owner.Uid, owner.Gid);
        Accounts.EnsureHome(other.Home, other.Uid, other.Gid);

        var (written, _) = await RunAsAsync(owner, "echo private > note && cat note && stat -c '%u:%g %a' .");
        var (snooped, _) = await RunAsAsync(other, $"ls {owner.Home} 2>&1; cat {owner.Home}/note 2>&1");

        Assert.Equal("private\n61170:61170 700\n", written);
        Assert.Equal($"ls: cannot open directory '{owner.Home}': Permission denied\ncat: {owner.Home}/note: Permission denied\n", snooped);
    }

    [Needs("root", Timeout = 10_000)]
    public async Task A_home_that_exists_is_handed_over_and_a_planted_link_is_refused()
    {
        await Task.Yield();
        string existing = Path.Combine(_scratch, "existing");
        Directory.CreateDirectory(existing);
        File.SetUnixFileMode(existing, (UnixFileMode)0x1ff);
        string link = Path.Combine(_scratch, "link");
        File.CreateSymbolicLink(link, "/etc");

        Accounts.EnsureHome(existing, 61172, 61173);
        var refused = Assert.Throws<InvalidOperationException>(() => Accounts.EnsureHome(link, 61172, 61173));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(existing));
        Assert.Equal("61172:61173", (await RunAsync("stat", "-c", "%u:%g", existing)).Trim());
        Assert.Equal($"the home '{link}' is a symbolic link or not a folder", refused.Message);
        Assert.Equal("0:0", (await RunAsync("stat", "-c", "%u:%g", "/etc")).Trim());
    }

    private static async Task<string> IdAsync(string option, string name) => (await RunAsync("id", option, name)).Trim();

    private static async Task<string> RunAsync(params string[] argv)
    {
        var result = await ProgramRunner.RunAsync(argv, null, Patience);
        Assert.True(result.ExitCode == 0, $"{string.Join(' ', argv)} failed: {result.Stderr}");
        return result.Stdout.TrimEnd('\n');
    }

    private async Task<(string Stdout, ChildExit Exit)> RunAsAsync(ChildAccount account, string script)
    {
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", script], Account: account), CancellationToken.None);
        return await ChildText.DrainAsync(child, Patience);
    }
}
