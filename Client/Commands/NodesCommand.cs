using System.CommandLine;
using System.Globalization;
using Jobs.Client.Connection;
using Jobs.Protos;

namespace Jobs.Client.Commands;

/// <summary><c>jobs nodes</c>: the cluster's nodes as a table, the live ones first.</summary>
internal sealed class NodesCommand : Command
{
    private const double GiB = 1024.0 * 1024 * 1024;
    private const double MiB = 1024.0 * 1024;

    private readonly CliConsole _console;

    public NodesCommand(CliConsole console)
        : base("nodes", "List the cluster's nodes (the live ones first, then those that left recently): status, running jobs, CPU and memory of each node's machine, uptime, and the processes and memory all its jobs use of their budget.")
    {
        _console = console;
        SetAction(ExecuteAsync);
    }

    /// <summary>The status word of a node: active, active (no jobs), joining, draining, shutting down, dead.</summary>
    public static string StatusText(Node node) => node.Status switch
    {
        NodeStatus.Active when !node.AcceptsJobs => "active (no jobs)",
        NodeStatus.Active => "active",
        NodeStatus.Joining => "joining",
        NodeStatus.ShuttingDown => "shutting down",
        NodeStatus.Dead => "dead",
        NodeStatus.Draining => "draining",
        // A newer server may add statuses; show the raw value rather than fail.
        _ => string.Create(CultureInfo.InvariantCulture, $"unknown ({(int)node.Status})"),
    };

    /// <summary>
    /// An aligned table: name, address, status, running jobs, CPU, memory, uptime, and the share of
    /// the node all its jobs may use together (their processes and memory now, of their budget).
    /// </summary>
    internal static IEnumerable<string> Table(IEnumerable<Node> nodes, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "NAME", "ADDRESS", "STATUS", "JOBS", "CPU", "MEMORY", "UPTIME", "JOB TASKS", "JOB MEMORY" } };
        foreach (var node in nodes)
        {
            // A live node that did not answer in time has no figures; a dead one may still be
            // described with its last ones.
            bool known = node.Answered || (node.Status == NodeStatus.Dead && node.CpuCount > 0);
            rows.Add(
            [
                node.Name,
                node.Address.Length > 0 ? node.Address : "-",
                StatusText(node),
                known ? node.RunningJobs.ToString(CultureInfo.InvariantCulture) : "-",
                known ? string.Create(CultureInfo.InvariantCulture, $"{node.CpuPercent:0}% of {node.CpuCount}") : "-",
                known ? Memory(node.MemoryUsedBytes, node.MemoryTotalBytes) : "-",
                known && Uptime(node, now) is { } uptime ? Durations.Format(uptime) : "-",
                node.Answered && node.JobsBudget is { Used.HasTasks: true } tasks
                    ? string.Create(CultureInfo.InvariantCulture, $"{tasks.Used.Tasks}/{(tasks.HasMaxProcesses ? tasks.MaxProcesses.ToString(CultureInfo.InvariantCulture) : "no limit")}")
                    : "-",
                node.Answered && node.JobsBudget is { Used.HasMemoryBytes: true } memory
                    ? memory.HasMaxMemoryBytes ? Memory(memory.Used.MemoryBytes, memory.MaxMemoryBytes) : Jobs.Platform.ByteSize.FormatCompact(memory.Used.MemoryBytes) + "/no limit"
                    : "-",
            ]);
        }

        return TextTable.Format(rows);
    }

    private static string Memory(long used, long total) => total >= GiB
        ? string.Create(CultureInfo.InvariantCulture, $"{used / GiB:0.0}/{total / GiB:0.0} GiB")
        : string.Create(CultureInfo.InvariantCulture, $"{used / MiB:0}/{total / MiB:0} MiB");

    // The node's own clock says best how long it has run; the start time is the fallback.
    private static TimeSpan? Uptime(Node node, DateTimeOffset now) =>
        node.Uptime?.ToTimeSpan() ?? (now - node.StartedAt?.ToDateTimeOffset());

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        var response = await connection.Client.NodesAsync(new NodesRequest(), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(GlobalOptions.Output) == OutputFormat.Json)
        {
            await _console.WriteJsonAsync(response, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        foreach (string line in Table(response.Nodes, DateTimeOffset.UtcNow))
        {
            await _console.WriteLineAsync(line, cancellationToken).ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }
}
