using System.Collections.Concurrent;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Jobs.TestSupport;

/// <summary>
/// A fixture that puts a program the tests drive on the machine before the first test of its class
/// or collection runs: outside every test's timeout (an install may take a minute), and saying so in
/// one line of the test run's output (an xunit diagnostic message, which the project's
/// xunit.runner.json shows) when it installed it. Where the program cannot be installed, every test
/// of the class or collection fails with the one short <see cref="MissingProgramException"/> message.
/// </summary>
public abstract class ProgramInstalled(IMessageSink diagnostics, Func<Task<string?>> ensure) : IAsyncLifetime
{
    // Several fixtures of one test process await the same install: one line for it.
    private static readonly ConcurrentDictionary<string, bool> s_said = new();

    public async Task InitializeAsync()
    {
        if (await ensure() is { } installed && s_said.TryAdd(installed, true))
        {
            diagnostics.OnMessage(new DiagnosticMessage(installed));
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;
}
