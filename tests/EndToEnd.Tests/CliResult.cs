using System.Text;

namespace Jobs.EndToEnd.Tests;

/// <summary>What one run of the <c>jobs</c> CLI produced.</summary>
public sealed record CliResult(int ExitCode, byte[] Stdout, string Stderr)
{
    public string StdoutText => Encoding.UTF8.GetString(Stdout);

    public override string ToString() => $"exit {ExitCode}, stdout '{StdoutText}', stderr '{Stderr}'";
}
