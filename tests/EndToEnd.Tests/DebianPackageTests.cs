using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// How the tests put redis-server and tmux on a fresh machine, against a PATH of the test's own
/// with a stand-in apt-get (a script that logs its arguments): no package is installed, nothing
/// leaves the machine.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DebianPackageTests : IDisposable
{
    private const string Program = "jobs-test-program";
    private const string Package = "jobs-test-package";
    private readonly string _bin = Directory.CreateTempSubdirectory("jobs-apt-").FullName;

    private string AptLog => Path.Combine(_bin, "apt.log");

    public void Dispose() => Directory.Delete(_bin, recursive: true);

    [Fact(Timeout = 30_000)]
    public async Task A_program_on_PATH_is_left_alone()
    {
        FakeAptGet(installs: true);
        await File.WriteAllTextAsync(Path.Combine(_bin, Program), string.Empty);

        string? said = await DebianPackage.InstallAsync(Program, Package, "these tests", _bin, isRoot: true);

        Assert.Null(said);
        Assert.False(File.Exists(AptLog));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_missing_program_is_installed_with_apt_get_and_said_in_one_line()
    {
        FakeAptGet(installs: true);

        string? said = await DebianPackage.InstallAsync(Program, Package, "these tests", _bin, isRoot: true);

        Assert.NotNull(said);
        Assert.Matches($@"^installed {Program} \(Debian package {Package}\) for these tests, in [0-9]+\.[0-9] s$", said);
        Assert.True(File.Exists(Path.Combine(_bin, Program)));
        Assert.Equal(new[] { $"-o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends {Package}" }, await File.ReadAllLinesAsync(AptLog));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_failed_install_updates_the_package_lists_tries_once_more_then_says_why_in_one_line()
    {
        FakeAptGet(installs: false);

        var missing = await Assert.ThrowsAsync<MissingProgramException>(() => DebianPackage.InstallAsync(Program, Package, "these tests", _bin, isRoot: true));

        Assert.Equal(
            $"{Program} is not on PATH and apt-get install {Package} failed (exit 100: E: Unable to locate package {Package}); these tests need {Program}: install the Debian package {Package} (apt-get install {Package})",
            missing.Message);
        Assert.Null(missing.StackTrace);
        Assert.Equal(
            new[]
            {
                $"-o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends {Package}",
                "-o DPkg::Lock::Timeout=120 update -qq",
                $"-o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends {Package}",
            },
            await File.ReadAllLinesAsync(AptLog));
    }

    [Fact(Timeout = 30_000)]
    public async Task Without_apt_get_the_message_names_the_package_and_carries_no_stack_trace()
    {
        var missing = await Assert.ThrowsAsync<MissingProgramException>(() => DebianPackage.InstallAsync(Program, Package, "these tests", _bin, isRoot: true));

        Assert.Equal($"{Program} is not on PATH and this machine has no apt-get to install it; these tests need {Program}: install the Debian package {Package} (apt-get install {Package})", missing.Message);
        Assert.Null(missing.StackTrace);
    }

    [Fact(Timeout = 30_000)]
    public async Task Tests_that_are_not_root_and_have_no_sudo_say_so_and_install_nothing()
    {
        FakeAptGet(installs: true);

        var missing = await Assert.ThrowsAsync<MissingProgramException>(() => DebianPackage.InstallAsync(Program, Package, "these tests", _bin, isRoot: false));

        Assert.StartsWith($"{Program} is not on PATH and the tests, not being root, cannot install it (no sudo); ", missing.Message);
        Assert.False(File.Exists(AptLog));
    }

    [Fact(Timeout = 30_000)]
    public async Task Tests_that_are_not_root_and_whose_sudo_asks_for_a_password_say_so_and_install_nothing()
    {
        FakeAptGet(installs: true);
        Script("sudo", "echo 'sudo: a password is required' >&2\nexit 1");

        var missing = await Assert.ThrowsAsync<MissingProgramException>(() => DebianPackage.InstallAsync(Program, Package, "these tests", _bin, isRoot: false));

        Assert.StartsWith($"{Program} is not on PATH and the tests, not being root, cannot install it (sudo asks for a password); ", missing.Message);
        Assert.False(File.Exists(AptLog));
    }

    // Only the shell's builtins and absolute paths: the PATH under test holds nothing else.
    private void FakeAptGet(bool installs) => Script(
        "apt-get",
        installs
            ? $"echo \"$*\" >> '{AptLog}'\ncase \"$*\" in *install*) : > '{Path.Combine(_bin, Program)}';; esac"
            : $"echo \"$*\" >> '{AptLog}'\ncase \"$*\" in *install*) echo 'E: Unable to locate package {Package}' >&2; exit 100;; esac");

    private void Script(string name, string body)
    {
        string path = Path.Combine(_bin, name);
        File.WriteAllText(path, $"#!/bin/sh\n{body}\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
