using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using Jobs.Client.Connection;
using Jobs.Protos;

namespace Jobs.Client.Commands;

/// <summary>
/// <c>jobs drain NODE</c> (admins): the node takes no new jobs and leaves the cluster once its
/// running jobs end; waits for that unless <c>--no-wait</c>.
/// </summary>
internal sealed class DrainCommand : Command
{
    public static readonly Argument<string> NodeArgument = new("node")
    {
        Description = "The node's name (see 'jobs nodes').",
        CompletionSources = { CompletionCommand.NodeNames },
    };

    public static readonly Option<bool> NoWaitOption = new("--no-wait")
    {
        Description = "Return once the drain has started, instead of waiting until the node has left the cluster.",
    };

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    // Polls that may fail in a row before the wait gives up: while the cluster reshapes itself
    // around the leaving node, the gateway may briefly fail to reach it.
    private const int UnansweredPolls = 5;

    private readonly CliConsole _console;

    public DrainCommand(CliConsole console)
        : base("drain", "Admins only: the node takes no new jobs, and leaves the cluster once its running jobs end (the server's Jobs:DrainTimeout bounds the wait, then kills them). Waits until it has left; Ctrl+C stops waiting, not the drain.")
    {
        _console = console;
        Arguments.Add(NodeArgument);
        Options.Add(NoWaitOption);
        SetAction(ExecuteAsync);
    }

    /// <summary>The first line: what the drain waits for.</summary>
    internal static string Started(string name, Node node)
    {
        const string Bound = "(Jobs:DrainTimeout on the server bounds the wait)";
        if (!node.Answered)
        {
            return $"draining {name}; it leaves the cluster once its running jobs end {Bound}";
        }

        return node.RunningJobs switch
        {
            0 => $"draining {name}: no running jobs; it leaves the cluster now",
            1 => $"draining {name}: 1 running job; it leaves the cluster once it ends {Bound}",
            var n => string.Create(CultureInfo.InvariantCulture, $"draining {name}: {n} running jobs; it leaves the cluster once they end {Bound}"),
        };
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        string name = parseResult.GetRequiredValue(NodeArgument);
        bool json = parseResult.GetValue(GlobalOptions.Output) == OutputFormat.Json;
        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        DrainResponse response;
        try
        {
            response = await connection.Client.DrainAsync(new DrainRequest { Node = name }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && string.IsNullOrWhiteSpace(e.Status.Detail))
        {
            // The server's own words otherwise (the error reporter prints them): a node, not a job.
            throw new CliException(ExitCodes.NotFound, $"no live node named '{name}' (see 'jobs nodes')", e);
        }

        var node = response.Node ?? new Node { Name = name, Status = NodeStatus.Draining };
        if (json)
        {
            await _console.WriteJsonAsync(response, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await _console.WriteLineAsync(Started(name, node), cancellationToken).ConfigureAwait(false);
        }

        if (parseResult.GetValue(NoWaitOption))
        {
            return ExitCodes.Success;
        }

        try
        {
            await WaitUntilGoneAsync(connection.Client, name, node.Status, json, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or RpcException)
        {
            throw new CliException(ExitCodes.Cancelled, $"stopped waiting; {name} goes on draining and leaves the cluster once its jobs end ('jobs nodes' shows it)");
        }
    }

    /// <summary>Polls the nodes until none of that name is live, with a line for each change of its status (none with JSON).</summary>
    private async Task WaitUntilGoneAsync(Protos.Jobs.JobsClient client, string name, NodeStatus status, bool json, CancellationToken cancellationToken)
    {
        var last = status;
        int failures = 0;
        while (true)
        {
            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
            NodesResponse nodes;
            try
            {
                nodes = await client.NodesAsync(new NodesRequest(), cancellationToken: cancellationToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && !cancellationToken.IsCancellationRequested)
            {
                if (++failures == UnansweredPolls)
                {
                    throw;
                }

                continue;
            }

            // A node that left is listed as dead for a while, then not at all.
            var live = nodes.Nodes.FirstOrDefault(n => n.Name == name && n.Status != NodeStatus.Dead);
            if (live is null)
            {
                if (!json)
                {
                    await _console.WriteLineAsync($"{name} left the cluster", cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            if (live.Status != last)
            {
                last = live.Status;
                if (!json)
                {
                    await _console.WriteLineAsync($"{name}: {NodesCommand.StatusText(live)}", cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }
}
