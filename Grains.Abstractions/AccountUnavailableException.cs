namespace Jobs.Grains;

/// <summary>
/// The job's account cannot be used on its node: no such account there, a server that is not root
/// and so cannot switch users, or no uid left for a new identity; nothing was started (FAILED_PRECONDITION).
/// </summary>
[GenerateSerializer, Alias("Jobs.AccountUnavailableException")]
public sealed class AccountUnavailableException(string message) : Exception(message);
