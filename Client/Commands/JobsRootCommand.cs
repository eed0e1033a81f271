using System.CommandLine;

namespace Jobs.Client.Commands;

/// <summary>The <c>jobs</c> command: global options and the verbs.</summary>
internal sealed class JobsRootCommand : RootCommand
{
    public JobsRootCommand(CliConsole console)
        : base("Run and watch jobs on a Jobs gateway, over mutual TLS.")
    {
        foreach (var option in GlobalOptions.All)
        {
            Options.Add(option);
        }

        Subcommands.Add(new RunCommand(console));
        Subcommands.Add(new LogsCommand(console));
        Subcommands.Add(new PsCommand(console));
        Subcommands.Add(new KillCommand(console));
        Subcommands.Add(new WaitCommand(console));
        Subcommands.Add(new AttachCommand(console));
        Subcommands.Add(new RemoveCommand(console));
        Subcommands.Add(new NodesCommand(console));
        Subcommands.Add(new DrainCommand(console));
        Subcommands.Add(new ConfigCommand(console));
        Subcommands.Add(new CompletionCommand(console));
    }
}
