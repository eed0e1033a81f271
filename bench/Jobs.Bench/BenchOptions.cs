using System.Globalization;

namespace Jobs.Bench;

/// <summary>The command line: a scenario, then options. A size takes K, M or G (1024-based).</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        usage: dotnet run -c Release --project bench/Jobs.Bench -- SCENARIO [--split | --cluster] [options]

        scenarios:
          throughput      one follower of a job writing --bytes (1G) in --write-size (64K) writes,
                          Run call to last byte; baseline: .NET reading the same child's stdout pipe
          fanout          --followers (32) concurrent Logs calls on --channels (4) channels of one job
                          writing --bytes (256M); aggregate = followers x bytes / time to the last end
                          message; baseline: .NET reading the same child's stdout pipe; server peak RSS
          late            a follower attaching after a --bytes (512M) job ended; baseline: the job's
                          spool files read directly (page cache); a live run of the same size beside it
          slow-follower   a --bytes (4G) job with a fast follower and one reading at --slow-rate
                          (1000000 B/s); server RSS sampled every --sample-ms (100); reference run
                          without the slow follower on a fresh server
          start-rate      --callers (8) concurrent callers start --count (2000) /bin/true jobs;
                          baseline: Process.Start("/bin/true") with the same count and concurrency
          idle            --count (2000) /bin/sleep 600 jobs: silo RSS per job, latency of --ps-calls
                          (2000) Ps calls on random ids, then Kill them all and check none is left
          finished        --count (2000) jobs of --bytes (300K) output run to their end, followed and
                          removed, then as many kept: silo RSS and open files per finished job (kept
                          against removed: the same traffic, so the heap it costs is not counted)
          cold-start      wall time of the Native AOT CLI (dotnet publish Client -c Release -r linux-x64):
                          --count (50) runs of 'jobs --version', and of 'jobs ps ID' against a local server
          cli             the Native AOT CLI against a local server, whole processes: --count (50) rounds
                          of 'jobs ps ID' and 'jobs run --wait -- true'; baseline: /usr/bin/curl making
                          one gRPC call (Health/Check) over the same mutual TLS, in the same rounds;
                          targets: ps p50 <= 1.5 x curl p50, run --wait p50 <= 2.5 x curl p50
          cli-logs        the Native AOT CLI's 'jobs logs ID > /dev/null' of a finished job of --bytes (1G),
                          3 runs: its CPU per GiB (what the bench reaps of it) and rate, the server's CPU
                          beside; the bytes counted once through 'wc -c'; target: CLI CPU <= 1.0 s per GiB
          echo            the round trip of one key through 'run -it -- cat' (the server's terminal echoes
                          it): --count (2000) keys one at a time, after 200 untimed; by a gRPC client
                          (Run with a terminal, Attach), then by the CLI (AOT if published, else the JIT
                          build) on a pseudo-terminal of the bench's; target: p99 <= 5 ms each
          soak            for --duration (2m), all at once: --followers (200) followers of a job of
                          --bytes (16M) over and over, --callers (4) callers running /bin/true jobs
                          back to back (Run, then Wait), malformed messages on every RPC (random
                          bytes, truncated protobuf, a field longer than the message, 4 MiB+
                          messages, a short gRPC frame), a client with --streams (500) Logs streams
                          it never reads, --sockets (100) connections that never finish the TLS
                          handshake; a well-behaved client's Run+Ps latency, alone first, then
                          during; errors by status per flood, bytes checked, server RSS; targets:
                          no lost bytes, no INTERNAL on well-formed calls, no UNKNOWN, RSS growth
                          <= 100 MB, Run+Ps p50 <= 2 x alone, no job process or cgroup left
          node-loss       --cluster only: --count (4) sleeps and one job that writes a line first on n2
                          (or --node), a sleep on the other node, a follower of each; SIGKILL of that
                          node's silo; time until Ps answers LOST and each follower ends LOST; the
                          jobs' processes gone, the other node's job and follower untouched
          all             every scenario above, in this order (--bytes and --count apply to all;
                          node-loss with --cluster only)

        options:
          --split           a Silo process and a Gateway with --Gateway:Silo=Remote (default: the
                            one-command server, the gateway hosting the silo)
          --cluster         a redis-server of its own, Silo processes n1 and n2 clustered on it
                            (Orleans:Clustering=Redis) and a Gateway with --Gateway:Silo=Remote;
                            jobs run on n2, so their output crosses from a silo to the gateway's client
          --node NAME       with --cluster: run the jobs on NAME (n1 or n2) instead of n2
          --spread          with --cluster: leave RunRequest.node empty (the server places by load)
          --bytes SIZE      job output size (default per scenario, above)
          --write-size SIZE the job's write size (64K)
          --followers N     fanout followers (32), soak followers (200)
          --channels N      fanout gRPC channels (4), followers spread round-robin
          --slow-rate B/S   slow follower's pace in bytes per second (1000000)
          --count N         jobs for start-rate and idle (2000), sleeps on the lost node in node-loss (4),
                            runs (rounds) in cold-start and cli (50), keys in echo (2000)
          --callers N       concurrent callers for Run, Ps sweeps and Kill (8; soak: 4)
          --duration TIME   soak: how long the floods run, as 90, 90s, 2m or 1h (2m)
          --streams N       soak: Logs streams opened and never read (500)
          --sockets N       soak: connections that never finish the TLS handshake (100)
          --ps-calls N      timed Ps calls in idle (2000)
          --sample-ms N     RSS sampling interval in slow-follower (100)
          --window SIZE     client HTTP/2 initial stream window (default: the handler's)
          --warm-up SIZE    flood job followed on each new server before anything is timed (64M)
          --timeout MIN     overall limit per scenario in minutes (15); TIMEOUT is reported
          --root DIR        repository whose Release server builds are run (default: this one)
          --other-cli FILE  cli: another jobs binary (e.g. an earlier commit's AOT build) timed in
                            the same rounds, reported beside the figures, without a verdict
          --isolate         start-rate jobs run with --isolate (own PID, mount and network namespaces)
          --accounts        start-rate alternates rounds of jobs of client2, mapped to root (no switch
                            of user), and of client1, which runs as a uid of its own, on one server;
                            the cost of switching users is the difference (target <= 5 %)
          --burners         start-rate: one job per core burns CPU on the server while the Runs are timed
          --server-arg ARG  passed to every server process, repeatable
                            (e.g. --server-arg=--Jobs:MaxOutputBytesPerJob=8589934592)

        exit codes: 0 ran (PASS or MISS), 1 output not byte-exact or a call failed,
                    2 could not run (bad command line, missing build, server did not start),
                    3 a scenario timed out, 130 interrupted
        """;

    public static readonly string[] Scenarios = ["throughput", "fanout", "late", "slow-follower", "start-rate", "idle", "finished", "cold-start", "cli", "cli-logs", "busy", "echo", "soak", "node-loss"];

    /// <summary>Scenarios that need more than one node.</summary>
    public static readonly string[] ClusterScenarios = ["node-loss"];

    /// <summary>The cluster's nodes (Orleans:NodeName of its two silos); jobs run on the second unless told otherwise.</summary>
    public static readonly string[] ClusterNodes = ["n1", "n2"];

    public string Scenario { get; private set; } = "";

    public bool Help { get; private set; }

    public DeploymentKind Kind { get; private set; } = DeploymentKind.Combined;

    /// <summary>With --cluster: the node given with --node, null for the default.</summary>
    public string? Node { get; private set; }

    /// <summary>With --cluster: jobs placed by the server (RunRequest.node empty).</summary>
    public bool Spread { get; private set; }

    /// <summary>RunRequest.node of every job the scenarios start: empty (any node) but in a cluster.</summary>
    public string JobNode => Kind != DeploymentKind.Cluster || Spread ? "" : Node ?? ClusterNodes[1];

    public bool Isolate { get; private set; }

    /// <summary>start-rate compares jobs as root with jobs as a uid of their identity's own.</summary>
    public bool Accounts { get; private set; }

    /// <summary>start-rate: one job per core burns CPU on the server during the timed rounds.</summary>
    public bool Burners { get; private set; }

    public long? Bytes { get; private set; }

    public int WriteSize { get; private set; } = 64 * 1024;

    /// <summary>Followers given with --followers; each scenario has its own default.</summary>
    public int? Followers { get; private set; }

    /// <summary>How long soak runs its floods (--duration).</summary>
    public TimeSpan Duration { get; private set; } = TimeSpan.FromMinutes(2);

    public int Channels { get; private set; } = 4;

    public long SlowRate { get; private set; } = 1_000_000;

    public int? Count { get; private set; }

    /// <summary>Callers given with --callers; null: the scenario's default (8, soak 4).</summary>
    public int? CallersGiven { get; private set; }

    public int Callers => CallersGiven ?? 8;

    public int Streams { get; private set; } = 500;

    public int Sockets { get; private set; } = 100;

    public int PsCalls { get; private set; } = 2000;

    public int SampleMs { get; private set; } = 100;

    public int? Window { get; private set; }

    public long WarmUpBytes { get; private set; } = 64 * Units.MiB;

    public TimeSpan Timeout { get; private set; } = TimeSpan.FromMinutes(15);

    public string? Root { get; private set; }

    /// <summary>With cli: another jobs binary timed in the same rounds.</summary>
    public string? OtherCli { get; private set; }

    public List<string> ServerArgs { get; } = [];

    public string Deployment => Kind.ToString().ToLowerInvariant();

    /// <summary>The scenarios to run, in order: one, or for <c>all</c> those the deployment can run.</summary>
    public IReadOnlyList<string> ScenariosToRun => Scenario != "all" ? [Scenario]
        : Kind == DeploymentKind.Cluster ? Scenarios
        : Scenarios.Except(ClusterScenarios).ToArray();

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (options.Scenario.Length != 0)
                {
                    throw new UsageException($"unexpected argument '{arg}'");
                }

                if (arg != "all" && !Scenarios.Contains(arg))
                {
                    throw new UsageException($"unknown scenario '{arg}'");
                }

                options.Scenario = arg;
                continue;
            }

            string name = arg;
            string? inline = null;
            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                name = arg[..equals];
                inline = arg[(equals + 1)..];
            }

            switch (name)
            {
                case "--help" or "-h":
                    options.Help = true;
                    break;
                case "--isolate":
                    options.Isolate = true;
                    break;
                case "--accounts":
                    options.Accounts = true;
                    break;
                case "--burners":
                    options.Burners = true;
                    break;
                case "--split":
                    options.SetKind(DeploymentKind.Split);
                    break;
                case "--cluster":
                    options.SetKind(DeploymentKind.Cluster);
                    break;
                case "--node":
                    string node = Value();
                    options.Node = ClusterNodes.Contains(node) ? node : throw new UsageException($"--node: the bench's cluster has nodes {string.Join(" and ", ClusterNodes)}, not '{node}'");
                    break;
                case "--spread":
                    options.Spread = true;
                    break;
                case "--bytes":
                    options.Bytes = Size(name, Value());
                    break;
                case "--write-size":
                    options.WriteSize = (int)Math.Min(Size(name, Value()), 64 * Units.MiB);
                    break;
                case "--followers":
                    options.Followers = Int(name, Value(), 1, 1000);
                    break;
                case "--channels":
                    options.Channels = Int(name, Value(), 1, 100);
                    break;
                case "--slow-rate":
                    options.SlowRate = Size(name, Value());
                    break;
                case "--count":
                    options.Count = Int(name, Value(), 1, 20_000);
                    break;
                case "--callers":
                    options.CallersGiven = Int(name, Value(), 1, 256);
                    break;
                case "--streams":
                    options.Streams = Int(name, Value(), 1, 10_000);
                    break;
                case "--sockets":
                    options.Sockets = Int(name, Value(), 1, 10_000);
                    break;
                case "--ps-calls":
                    options.PsCalls = Int(name, Value(), 1, 1_000_000);
                    break;
                case "--sample-ms":
                    options.SampleMs = Int(name, Value(), 10, 10_000);
                    break;
                case "--window":
                    long window = Size(name, Value());
                    options.Window = window is >= 65535 and <= int.MaxValue ? (int)window : throw new UsageException($"{name}: from 65535 bytes to 2 GiB - 1");
                    break;
                case "--warm-up":
                    options.WarmUpBytes = Size(name, Value());
                    break;
                case "--duration":
                    options.Duration = Seconds(name, Value());
                    break;
                case "--timeout":
                    options.Timeout = TimeSpan.FromMinutes(Int(name, Value(), 1, 24 * 60));
                    break;
                case "--root":
                    options.Root = Value();
                    break;
                case "--other-cli":
                    options.OtherCli = Path.GetFullPath(Value());
                    break;
                case "--server-arg":
                    options.ServerArgs.Add(Value());
                    break;
                default:
                    throw new UsageException($"unknown option '{name}'");
            }

            string Value()
            {
                if (inline is not null)
                {
                    return inline;
                }

                if (i + 1 >= args.Count)
                {
                    throw new UsageException($"{name} needs a value");
                }

                return args[++i];
            }
        }

        if (options.Scenario.Length == 0 && !options.Help)
        {
            throw new UsageException("missing scenario");
        }

        options.CheckCluster();
        return options;
    }

    private void SetKind(DeploymentKind kind)
    {
        if (Kind != DeploymentKind.Combined && Kind != kind)
        {
            throw new UsageException("--split and --cluster are two deployments: give one");
        }

        Kind = kind;
    }

    // Options and scenarios that only mean something in a cluster, and those that contradict each other.
    private void CheckCluster()
    {
        bool cluster = Kind == DeploymentKind.Cluster;
        if (!cluster && (Node is not null || Spread))
        {
            throw new UsageException($"{(Node is not null ? "--node" : "--spread")} needs --cluster");
        }

        if (Node is not null && Spread)
        {
            throw new UsageException("--node and --spread contradict each other: give one");
        }

        if (!cluster && ClusterScenarios.Contains(Scenario))
        {
            throw new UsageException($"{Scenario} needs a cluster: add --cluster");
        }

        if (Spread && Scenario == "node-loss")
        {
            throw new UsageException("node-loss kills the node its jobs run on: give --node or nothing (n2), not --spread");
        }
    }

    private static long Size(string name, string text) =>
        Units.TryParseSize(text, out long value) && value > 0 ? value : throw new UsageException($"{name}: bad size '{text}'");

    // 90, 90s, 2m or 1h: a whole number of seconds, minutes or hours, from 5 s to a day.
    private static TimeSpan Seconds(string name, string text)
    {
        var (digits, unit) = text.Length > 0 && char.IsAsciiLetter(text[^1]) ? (text[..^1], char.ToLowerInvariant(text[^1])) : (text, 's');
        long scale = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, _ => 0 };
        return scale > 0 && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value) && value * scale is >= 5 and <= 86_400
            ? TimeSpan.FromSeconds(value * scale)
            : throw new UsageException($"{name}: expected a time from 5s to 24h such as 30s, 2m or 1h, got '{text}'");
    }

    private static int Int(string name, string text, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max
            ? value
            : throw new UsageException($"{name}: expected a whole number from {min} to {max}, got '{text}'");
}
