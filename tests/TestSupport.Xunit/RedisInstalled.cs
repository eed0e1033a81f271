using Xunit.Abstractions;

namespace Jobs.TestSupport;

/// <summary>redis-server on PATH before a class or collection of cluster tests starts; see <see cref="ProgramInstalled"/>.</summary>
public sealed class RedisInstalled(IMessageSink diagnostics) : ProgramInstalled(diagnostics, RedisServer.EnsureInstalledAsync);
