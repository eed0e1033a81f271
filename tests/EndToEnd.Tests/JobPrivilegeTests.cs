using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Grpc.Core;
using Jobs.Protos;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// What a job can do on its node, tried by the job itself on a real root server whose keys are
/// kept as a deployment keeps them (0600, in a 0700 folder): a job of an ordinary identity runs as a
/// uid of its own without privileges, and reaches neither the server, nor the cluster's keys, nor
/// another uid's jobs, homes or cgroups. Each attack is a shell line that prints whether the kernel let it.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class JobPrivilegeTests(JobPrivilegeTests.HardenedServer fixture) : IClassFixture<JobPrivilegeTests.HardenedServer>
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);

    // Prints "LABEL:allowed" or "LABEL:refused" for each attempt: "try LABEL COMMAND...".
    private const string Try = "try() { label=$1; shift; if \"$@\" >/dev/null 2>&1; then echo \"$label:allowed\"; else echo \"$label:refused\"; fi; }; ";

    [Needs("root", Timeout = 120_000)]
    public async Task An_ordinary_identitys_job_runs_as_a_uid_of_its_own_without_privileges_in_a_home_of_its_own()
    {
        var identity = Identity("plain");

        var (output, status) = await RunAsync(identity, new RunRequest
        {
            Command = "sh",
            Args =
            {
                "-c",
                "id -u; id -g; id -G; echo \"$HOME\"; echo \"$USER $LOGNAME\"; pwd; stat -c '%a %u' \"$HOME\"; "
                + "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status",
            },
        });
        var (again, _) = await RunAsync(identity, new RunRequest { Command = "id", Args = { "-u" } });
        var (other, _) = await RunAsync(Identity("other"), new RunRequest { Command = "id", Args = { "-u" } });

        string[] lines = Lines(output);
        uint uid = uint.Parse(lines[0], CultureInfo.InvariantCulture);
        Assert.InRange(uid, 61184u, 65519u);
        Assert.Equal((uid, $"jobs-{uid}"), (status.Uid, status.User));
        Assert.Equal([uid.ToString(CultureInfo.InvariantCulture), uid.ToString(CultureInfo.InvariantCulture)], lines[1..3]);
        string home = Path.Combine(fixture.Homes, uid.ToString(CultureInfo.InvariantCulture));
        Assert.Equal([home, $"jobs-{uid} jobs-{uid}", home, $"700 {uid}"], lines[3..7]);
        Assert.Equal(
            ["CapInh:\t0000000000000000", "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "CapAmb:\t0000000000000000", "NoNewPrivs:\t1"],
            lines[7..]);

        // The same identity gets its uid again; another identity gets another.
        Assert.Equal(uid.ToString(CultureInfo.InvariantCulture), Lines(again).Single());
        Assert.NotEqual(uid.ToString(CultureInfo.InvariantCulture), Lines(other).Single());
    }

    [Needs("root", Timeout = 120_000)]
    public async Task A_job_cannot_read_the_servers_keys_environment_data_or_the_list_of_homes()
    {
        string serverKey = Path.Combine(fixture.Secrets, "server.key");
        string siloKey = Path.Combine(fixture.Secrets, "silo.key");
        string[] targets = [serverKey, siloKey, fixture.DataDirectory, $"/proc/{fixture.Server.Pid}/environ", fixture.Homes];
        Assert.All(targets, path => Assert.True(File.Exists(path) || Directory.Exists(path), $"{path} is not there to attack"));

        var (output, _) = await RunAsync(Identity("reader"), new RunRequest
        {
            Command = "sh",
            Args =
            {
                "-c",
                Try + "try server-key cat \"$1\"; try silo-key cat \"$2\"; try data ls \"$3\"; try server-environ cat \"$4\"; try homes ls \"$5\"; try keys-folder ls \"$6\"",
                "sh", serverKey, siloKey, fixture.DataDirectory, $"/proc/{fixture.Server.Pid}/environ", fixture.Homes, fixture.Secrets,
            },
        });

        Assert.Equal(
            ["server-key:refused", "silo-key:refused", "data:refused", "server-environ:refused", "homes:refused", "keys-folder:refused"],
            Lines(output));
    }

    [Needs("root", Timeout = 120_000)]
    public async Task A_job_cannot_signal_or_trace_the_server_its_watchdog_or_another_identitys_job()
    {
        var victim = Identity("victim");
        string victimId = await StartAsync(victim, new RunRequest { Command = "sleep", Args = { "600" }, Env = { ["SECRET"] = "victim's" } });
        try
        {
            int watchdog = Watchdog(fixture.Server.Pid);
            var victimStatus = (await CallAsync(victim, c => c.PsAsync(new PsRequest { JobId = victimId }).ResponseAsync)).Status;
            string home = Path.Combine(fixture.Homes, victimStatus.Uid.ToString(CultureInfo.InvariantCulture));

            var (output, _) = await RunAsync(Identity("attacker"), new RunRequest
            {
                Command = "sh",
                Args =
                {
                    "-c",
                    Try + "try kill-server kill -0 \"$1\"; try kill-watchdog kill -0 \"$2\"; try kill-job kill -0 \"$3\"; "
                    + "try trace-server perl -e \"$5\" \"$1\"; try trace-job perl -e \"$5\" \"$3\"; "
                    + "try job-environ cat \"/proc/$3/environ\"; try job-home ls \"$4\"",
                    "sh",
                    fixture.Server.Pid.ToString(CultureInfo.InvariantCulture),
                    watchdog.ToString(CultureInfo.InvariantCulture),
                    victimStatus.Pid.ToString(CultureInfo.InvariantCulture),
                    home,
                    PtraceAttach(),
                },
            });

            Assert.Equal(
                ["kill-server:refused", "kill-watchdog:refused", "kill-job:refused", "trace-server:refused", "trace-job:refused", "job-environ:refused", "job-home:refused"],
                Lines(output));
            Assert.Equal(JobState.Running, (await CallAsync(victim, c => c.PsAsync(new PsRequest { JobId = victimId }).ResponseAsync)).Status.State);
        }
        finally
        {
            await CallAsync(victim, c => c.KillAsync(new KillRequest { JobId = victimId, Grace = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.Zero) }).ResponseAsync);
        }
    }

    [Needs("root", Timeout = 120_000)]
    public async Task A_job_can_write_no_cgroup_file_so_it_can_neither_leave_its_cgroup_nor_raise_its_limits()
    {
        var (output, _) = await RunAsync(Identity("escaper"), new RunRequest
        {
            Command = "sh",
            Args =
            {
                "-c",
                // Every cgroup file the job's uid may write (none), then the moves the issue found working for root.
                "find /sys/fs/cgroup -writable 2>/dev/null | head -5; "
                + "for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs; do [ -f \"$f\" ] && { echo $$ > \"$f\" && echo \"moved:$f\" || echo refused; } 2>/dev/null; done | sort -u",
            },
        });

        Assert.Equal(["refused"], Lines(output));
    }

    [Needs("root", Timeout = 120_000)]
    public async Task The_OOM_killer_is_pointed_at_jobs_before_the_server_and_a_job_cannot_go_below_it()
    {
        // -900 where the kernel lets the server lower its score; some refuse any negative one.
        int server = int.Parse(File.ReadAllText($"/proc/{fixture.Server.Pid}/oom_score_adj").Trim(), CultureInfo.InvariantCulture);
        string below = (server - 1).ToString(CultureInfo.InvariantCulture);
        string script = Try + "cat /proc/self/oom_score_adj; try below-server sh -c \"echo $1 > /proc/self/oom_score_adj\"; try raise sh -c 'echo 600 > /proc/self/oom_score_adj'";

        var (ordinary, _) = await RunAsync(Identity("oom"), new RunRequest { Command = "sh", Args = { "-c", script, "sh", below } });
        var (asRoot, _) = await RunAsync(GrpcClients.Admin, new RunRequest { Command = "cat", Args = { "/proc/self/oom_score_adj" }, User = "root" });

        Assert.Contains(server, new[] { -900, 0 });
        Assert.Equal(["500", "below-server:refused", "raise:allowed"], Lines(ordinary));
        Assert.Equal(["500"], Lines(asRoot));
        Assert.Contains($"Out of memory: the server's oom_score_adj {server}", fixture.Server.Log, StringComparison.Ordinal);
        Assert.Contains("every job's 500", fixture.Server.Log, StringComparison.Ordinal);
    }

    [Needs("root", Timeout = 120_000)]
    public async Task A_set_user_id_program_gives_a_job_nothing()
    {
        // A root-owned copy of id with the set-user-ID bit, where the job can run it.
        string folder = Path.Combine(Path.GetTempPath(), $"jobs-setuid-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            File.SetUnixFileMode(folder, (UnixFileMode)0x1ED);
            string program = Path.Combine(folder, "id");
            File.Copy("/usr/bin/id", program);
            File.SetUnixFileMode(program, UnixFileMode.SetUser | (UnixFileMode)0x1ED);

            var (output, _) = await RunAsync(Identity("setuid"), new RunRequest { Command = "sh", Args = { "-c", "\"$1\" -u; id -u", "sh", program } });

            string[] lines = Lines(output);
            Assert.Equal(2, lines.Length);
            Assert.NotEqual("0", lines[0]);
            Assert.Equal(lines[1], lines[0]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Needs("root", Timeout = 120_000)]
    public async Task An_interactive_jobs_terminal_belongs_to_its_uid_so_tty_and_stty_work()
    {
        var (output, status) = await RunAsync(Identity("terminal"), new RunRequest
        {
            Command = "sh",
            Args = { "-c", "stat -c '%u %a' \"$(tty)\"; stty size; stty -echo && echo set" },
            Terminal = new TerminalSize { Rows = 24, Columns = 80 },
        });

        Assert.Equal([$"{status.Uid} 620", "24 80", "set"], Lines(output));
    }

    [Needs("root", Timeout = 120_000)]
    public async Task Run_user_is_an_account_the_identity_is_mapped_to_or_any_for_an_admin_and_a_refusal_starts_nothing()
    {
        // client2 is mapped to nobody (its default) and daemon; client1 to nothing.
        var (byDefault, mappedStatus) = await RunAsync(GrpcClients.Client2, new RunRequest { Command = "id", Args = { "-u" } });
        var (picked, pickedStatus) = await RunAsync(GrpcClients.Client2, new RunRequest { Command = "id", Args = { "-u" }, User = "daemon" });
        var (asRoot, rootStatus) = await RunAsync(GrpcClients.Admin, new RunRequest { Command = "id", Args = { "-u" }, User = "root" });
        int jobsBefore = (await CallAsync(GrpcClients.Client1, c => c.ListAsync(new ListRequest()).ResponseAsync)).Jobs.Count;

        var refusals = new[]
        {
            await Assert.ThrowsAsync<RpcException>(() => CallAsync(GrpcClients.Client1, c => c.RunAsync(new RunRequest { Command = "id", User = "root" }).ResponseAsync)),
            await Assert.ThrowsAsync<RpcException>(() => CallAsync(GrpcClients.Client2, c => c.RunAsync(new RunRequest { Command = "id", User = "0:0" }).ResponseAsync)),
        };
        var unknown = await Assert.ThrowsAsync<RpcException>(() => CallAsync(GrpcClients.Admin, c => c.RunAsync(new RunRequest { Command = "id", User = "no-such-user" }).ResponseAsync));

        Assert.Equal(("65534", "nobody", 65534u), (Lines(byDefault).Single(), mappedStatus.User, mappedStatus.Uid));
        Assert.Equal(("1", "daemon"), (Lines(picked).Single(), pickedStatus.User));
        Assert.Equal(("0", "root", 0u), (Lines(asRoot).Single(), rootStatus.User, rootStatus.Uid));
        Assert.All(refusals, r => Assert.Equal(StatusCode.PermissionDenied, r.StatusCode));
        Assert.Equal(
            "'client1' may not run jobs as 'root': the server's configuration maps it to no account (its jobs run as a uid of its own) (Jobs:Accounts:Identities), and only admins may run as any account",
            refusals[0].Status.Detail);
        Assert.Contains("maps it to 'nobody', 'daemon'", refusals[1].Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.FailedPrecondition, unknown.StatusCode);
        Assert.Contains("no user 'no-such-user' on this machine", unknown.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(jobsBefore, (await CallAsync(GrpcClients.Client1, c => c.ListAsync(new ListRequest()).ResponseAsync)).Jobs.Count);

        // The audit log says as whom each ran, and whom a refused run asked for.
        string log = fixture.Server.Log;
        Assert.Contains("audit call=Run identity=admin job=", log, StringComparison.Ordinal);
        Assert.Matches("audit call=Run identity=admin job=[0-9a-f-]+ command=id -u user=root outcome=OK", log);
        Assert.Matches("audit call=Run identity=client1 job=- command=id user=root outcome=PermissionDenied", log);
    }

    [Needs("root", Timeout = 120_000)]
    public async Task A_server_that_is_not_root_says_so_runs_jobs_as_itself_and_refuses_run_user()
    {
        string data = Path.Combine(Path.GetTempPath(), $"jobs-output-nobody-{Guid.NewGuid():N}");
        try
        {
            await using var server = await ServerProcess.StartCombinedUnderAsync(
                ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"], $"--Jobs:DataDirectory={data}");
            var (client, channel) = GrpcClients.Create(server.Endpoint, GrpcClients.Client1);
            using (channel)
            {
                string id = (await client.RunAsync(new RunRequest { Command = "id", Args = { "-u" } })).JobId;
                var (output, status) = await HealthyServer.ReadAllAsync(client, id, JobTimeout);
                var refused = await Assert.ThrowsAsync<RpcException>(() => client.RunAsync(new RunRequest { Command = "id", User = "root" }).ResponseAsync);

                Assert.Contains("Jobs run as the server's own user nobody: the server runs as uid 65534 (nobody), not root.", server.Log, StringComparison.Ordinal);
                Assert.Equal(("65534", "nobody", 65534u), (Lines(output).Single(), status.User, status.Uid));
                Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
                Assert.Equal(
                    "cannot run the job as 'root': the server runs as uid 65534 (nobody), not root, so every job runs as the server's user; run it without --user",
                    refused.Status.Detail);
            }
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    private static X509Certificate2 Identity(string role) => GrpcClients.Mint($"{role}-{Guid.NewGuid():N}"[..20]);

    private static string[] Lines(byte[] output) =>
        Encoding.UTF8.GetString(output).Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    // A perl line that attaches to the pid in its first argument with ptrace (PTRACE_ATTACH is 16),
    // by the syscall's number on this machine, and succeeds only if the kernel lets it.
    private static string PtraceAttach()
    {
        int ptrace = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 101,
            Architecture.Arm64 => 117,
            var other => throw new PlatformNotSupportedException($"no ptrace syscall number known for {other}"),
        };
        return $"exit(syscall({ptrace}, 16, $ARGV[0], 0, 0) == -1 ? 1 : 0)";
    }

    // The server's watchdog: its child running "jobs-shim watch".
    private static int Watchdog(int server) =>
        Processes.ChildrenOf(server).FirstOrDefault(c => c.CommandLine.Contains("jobs-shim watch", StringComparison.Ordinal)) is { Pid: > 0 } watchdog
            ? watchdog.Pid
            : throw new InvalidOperationException($"the server {server} has no watchdog process");

    private async Task<(byte[] Output, Protos.JobStatus Status)> RunAsync(X509Certificate2 identity, RunRequest request)
    {
        string id = await StartAsync(identity, request);
        return await CallAsync(identity, c => HealthyServer.ReadAllAsync(c, id, JobTimeout));
    }

    private async Task<string> StartAsync(X509Certificate2 identity, RunRequest request) =>
        (await CallAsync(identity, c => c.RunAsync(request).ResponseAsync)).JobId;

    private async Task<T> CallAsync<T>(X509Certificate2 identity, Func<Protos.Jobs.JobsClient, Task<T>> call)
    {
        var (client, channel) = GrpcClients.Create(fixture.Server.Endpoint, identity);
        using (channel)
        {
            return await call(client);
        }
    }

    /// <summary>
    /// A root server as deployed: its keys 0600 in a 0700 folder (checked, not allowed readable), its
    /// data directory and homes folder of its own; client2 mapped to nobody and daemon.
    /// </summary>
    public sealed class HardenedServer : IAsyncLifetime
    {
        public ServerProcess Server { get; private set; } = null!;

        /// <summary>The 0700 folder of the server's keys.</summary>
        public string Secrets { get; } = Directory.CreateTempSubdirectory("jobs-secrets-").FullName;

        public string DataDirectory => Path.Combine(Secrets, "data");

        public string Homes { get; } = Path.Combine(Path.GetTempPath(), $"jobs-homes-test-{Guid.NewGuid():N}");

        public async Task InitializeAsync()
        {
            if (!Machine.IsRoot)
            {
                return;
            }

            foreach (string name in new[] { "server.pem", "server.key", "silo.pem", "silo.key" })
            {
                File.Copy(Path.Combine(Repo.Certs, name), Path.Combine(Secrets, name));
                if (name.EndsWith(".key", StringComparison.Ordinal))
                {
                    File.SetUnixFileMode(Path.Combine(Secrets, name), UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }
            }

            Server = await ServerProcess.StartCombinedAsync(
                $"--Gateway:Certificate={Path.Combine(Secrets, "server.pem")}",
                $"--Gateway:Key={Path.Combine(Secrets, "server.key")}",
                "--Gateway:AllowReadableKey=false",
                $"--Jobs:DataDirectory={DataDirectory}",
                $"--Jobs:Accounts:Homes={Homes}",
                "--Jobs:Accounts:Identities:client2:0=nobody",
                "--Jobs:Accounts:Identities:client2:1=daemon");
        }

        public async Task DisposeAsync()
        {
            if (Server is not null)
            {
                await Server.DisposeAsync();
            }

            Directory.Delete(Secrets, recursive: true);
            if (Directory.Exists(Homes))
            {
                Directory.Delete(Homes, recursive: true);
            }
        }
    }
}
