namespace Jobs.Silo.Security;

/// <summary>What a process is in the cluster, which decides the certificate it needs and the peers it accepts.</summary>
public enum ClusterRole
{
    /// <summary>A silo: accepts silos on its silo port and silos or gateways on its gateway port; its certificate names serverAuth and clientAuth.</summary>
    Silo,

    /// <summary>A gateway (an Orleans client): connects to silos only; its certificate names clientAuth.</summary>
    Gateway,
}
