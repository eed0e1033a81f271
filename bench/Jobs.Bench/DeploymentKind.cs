namespace Jobs.Bench;

/// <summary>How the server is laid out in processes (see <see cref="Deployment"/>).</summary>
internal enum DeploymentKind
{
    /// <summary>The one-command server: the gateway hosts the silo.</summary>
    Combined,

    /// <summary>A Silo process and a gateway with <c>--Gateway:Silo=Remote</c>.</summary>
    Split,

    /// <summary>A redis-server of its own, Silo processes n1 and n2 clustered on it, and a remote gateway.</summary>
    Cluster,
}
