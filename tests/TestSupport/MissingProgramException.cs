namespace Jobs.TestSupport;

/// <summary>
/// A program the tests need is not on this machine and could not be installed. Its message is the
/// whole story (what is missing, why it could not be installed, which package to install), so it
/// carries no stack trace: every test that needs the program fails with that one line, not with
/// the line buried under a trace of the test support's own frames.
/// </summary>
public sealed class MissingProgramException(string message) : Exception(message)
{
    /// <inheritdoc />
    public override string? StackTrace => null;
}
