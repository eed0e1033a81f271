namespace Jobs.Grains;

/// <summary>The caller asked to run a job as an account its identity is not mapped to, and is no admin; nothing was started (PERMISSION_DENIED).</summary>
[GenerateSerializer, Alias("Jobs.AccountNotAllowedException")]
public sealed class AccountNotAllowedException(string message) : Exception(message);
