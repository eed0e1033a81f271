using System.CommandLine;
using System.CommandLine.Completions;
using Jobs.Client.Connection;
using Jobs.Protos;

namespace Jobs.Client.Commands;

/// <summary>
/// <c>jobs completion bash|zsh|fish|pwsh</c>: prints a script that wires the shell's completion to
/// <c>jobs [suggest:POSITION] "LINE"</c>, which System.CommandLine answers, job ids and node names included.
/// </summary>
internal sealed class CompletionCommand : Command
{
    private static readonly Dictionary<string, string> Scripts = new(StringComparer.Ordinal)
    {
        ["bash"] = """
            # jobs completion for bash: add to ~/.bashrc: source <(jobs completion bash)
            _jobs_complete() {
              local IFS=$'\n'
              COMPREPLY=( $(jobs "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null) )
            }
            complete -o default -F _jobs_complete jobs
            """,
        ["zsh"] = """
            # jobs completion for zsh: add to ~/.zshrc: source <(jobs completion zsh)
            _jobs_complete() {
              local line="${words[*]}"
              local -a items
              items=("${(@f)$(jobs "[suggest:${#line}]" "$line" 2>/dev/null)}")
              compadd -- $items
            }
            compdef _jobs_complete jobs
            """,
        ["fish"] = """
            # jobs completion for fish: jobs completion fish > ~/.config/fish/completions/jobs.fish
            complete -c jobs -f -a '(set -l line (commandline -cp); jobs "[suggest:"(string length -- $line)"]" "$line" 2>/dev/null)'
            """,
        ["pwsh"] = """
            # jobs completion for PowerShell: add to $PROFILE: jobs completion pwsh | Out-String | Invoke-Expression
            Register-ArgumentCompleter -Native -CommandName jobs -ScriptBlock {
                param($wordToComplete, $commandAst, $cursorPosition)
                jobs "[suggest:$cursorPosition]" "$commandAst" 2>$null | ForEach-Object {
                    [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
                }
            }
            """,
    };

    public static readonly Argument<string> ShellArgument = new("shell")
    {
        Description = "bash, zsh, fish or pwsh.",
        Validators = { result => { if (result.Tokens is [{ Value: var shell }] && !Scripts.ContainsKey(shell)) { result.AddError($"no completion script for '{shell}' (bash, zsh, fish, pwsh)"); } } },
    };

    public CompletionCommand(CliConsole console)
        : base("completion", "Print the shell completion script for bash, zsh, fish or pwsh (job ids and node names complete from the server).")
    {
        Arguments.Add(ShellArgument);
        SetAction(async (parseResult, cancellationToken) =>
        {
            await console.WriteVerbatimLineAsync(Scripts[parseResult.GetRequiredValue(ShellArgument)].TrimEnd(), cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        });
    }

    /// <summary>Completes a job id argument with the caller's jobs, newest first; nothing when the server does not answer within 2 s.</summary>
    public static IEnumerable<CompletionItem> JobIds(CompletionContext context)
    {
        try
        {
            using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(context.ParseResult));
            var list = connection.Client.List(new ListRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
            // The shell prints and inserts these as they are: an id that would need escaping is
            // no id this server makes, and is left out rather than shown escaped.
            return [.. list.Jobs.Where(j => TerminalText.Escape(j.JobId) == j.JobId)
                .Select(j => new CompletionItem(j.JobId, detail: TerminalText.Escape(StatusFormatter.Format(j))))
                .Where(item => item.Label.StartsWith(context.WordToComplete, StringComparison.Ordinal))];
        }
        catch (Exception e) when (IsUnanswered(e))
        {
            return [];
        }
    }

    /// <summary>Completes a node name (<c>run --node</c>, <c>drain</c>) with the cluster's live nodes; nothing when the server does not answer within 2 s.</summary>
    public static IEnumerable<CompletionItem> NodeNames(CompletionContext context)
    {
        try
        {
            using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(context.ParseResult));
            var nodes = connection.Client.Nodes(new NodesRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
            return [.. nodes.Nodes.Where(n => n.Status != NodeStatus.Dead && TerminalText.Escape(n.Name) == n.Name)
                .Select(n => new CompletionItem(n.Name, detail: TerminalText.Escape(NodesCommand.StatusText(n))))
                .Where(item => item.Label.StartsWith(context.WordToComplete, StringComparison.Ordinal))];
        }
        catch (Exception e) when (IsUnanswered(e))
        {
            return [];
        }
    }

    private static bool IsUnanswered(Exception e) =>
        e is Grpc.Core.RpcException or CliException or IOException or System.Security.Authentication.AuthenticationException or HttpRequestException;
}
