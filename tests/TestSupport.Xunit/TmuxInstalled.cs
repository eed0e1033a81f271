using Xunit.Abstractions;

namespace Jobs.TestSupport;

/// <summary>tmux on PATH before a class of terminal tests starts; see <see cref="ProgramInstalled"/>.</summary>
public sealed class TmuxInstalled(IMessageSink diagnostics) : ProgramInstalled(diagnostics, Tmux.EnsureInstalledAsync);
