using System.CommandLine;
using Jobs.Client.Interactive;

namespace Jobs.Client.Commands;

/// <summary><c>--detach-keys</c> of <c>attach</c> and <c>run -it</c>, in docker's syntax.</summary>
internal static class DetachKeysOption
{
    public static readonly Option<string> DetachKeys = new("--detach-keys")
    {
        Description = "Keys that detach from the job's terminal and leave it running: ctrl-<a-z, @, [, \\, ], ^ or _> or single characters, comma separated.",
        HelpName = "keys",
        DefaultValueFactory = _ => Interactive.DetachKeys.Default,
        Validators =
        {
            result =>
            {
                try
                {
                    Interactive.DetachKeys.Parse(result.GetValueOrDefault<string>());
                }
                catch (CliException e)
                {
                    result.AddError(e.Message);
                }
            },
        },
    };

    /// <summary>The detach sequence as bytes.</summary>
    public static byte[] Get(ParseResult parseResult) => Interactive.DetachKeys.Parse(parseResult.GetValue(DetachKeys) ?? Interactive.DetachKeys.Default);
}
