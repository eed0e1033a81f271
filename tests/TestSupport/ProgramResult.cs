namespace Jobs.TestSupport;

/// <summary>How a program that <see cref="ProgramRunner"/> ran ended, and what it wrote.</summary>
/// <param name="ExitCode">Its exit code; -1 when it was killed for outlasting its time.</param>
/// <param name="Stdout">All it wrote to stdout.</param>
/// <param name="Stderr">All it wrote to stderr.</param>
/// <param name="TimedOut">It outlasted its time and was killed.</param>
public sealed record ProgramResult(int ExitCode, string Stdout, string Stderr, bool TimedOut);
