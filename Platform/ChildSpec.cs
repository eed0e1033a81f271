namespace Jobs.Platform;

/// <summary>What to start: a program, its arguments, and where.</summary>
/// <param name="Command">A path, or a program name looked up in the child's <c>PATH</c> (the server's, through the base, unless <paramref name="Environment"/> sets another).</param>
/// <param name="Args">Arguments after the program name, passed as they are (no shell).</param>
/// <param name="WorkingDirectory">Working directory of the child; the server's own when null.</param>
/// <param name="Environment">Variables set for the child on top of its base environment (<see cref="ChildEnvironment.Base"/>; a value replaces the base's). The server's own environment does not reach the child.</param>
/// <param name="Limits">Resource limits for the child's tree; none when null.</param>
/// <param name="Stdin">Keep the child's stdin open for <see cref="IChild.Input"/> (a socket the child reads) instead of <c>/dev/null</c>.</param>
/// <param name="Terminal">
/// Run the child on a pseudo-terminal of this size: it is stdin, stdout and stderr, the child is a
/// session leader with it as its controlling terminal, and <see cref="IChild.Input"/> writes to it.
/// Output then comes as one stream (<see cref="ChildStream.Stdout"/>), as on any terminal.
/// </param>
/// <param name="Isolate">Run the child as PID 1 of its own PID namespace, with a private <c>/proc</c> and a read-only <c>/sys</c> of its own (whose <c>/sys/class/net</c> lists only loopback), its own mount namespace and a network namespace with only loopback.</param>
/// <param name="Account">Run the child as this Unix account, without privileges, rather than as the server's user (Unix only).</param>
public sealed record ChildSpec(
    string Command,
    IReadOnlyList<string> Args,
    string? WorkingDirectory = null,
    IReadOnlyDictionary<string, string>? Environment = null,
    ChildLimits? Limits = null,
    bool Isolate = false,
    bool Stdin = false,
    TerminalSize? Terminal = null,
    ChildAccount? Account = null);
