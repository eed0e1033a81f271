namespace Jobs.Gateway;

/// <summary>Where the gateway finds the silo.</summary>
public enum SiloMode
{
    /// <summary>The gateway hosts the silo in its own process.</summary>
    Embedded,

    /// <summary>The silo runs in its own process; the gateway connects to it as an Orleans client.</summary>
    Remote,
}
