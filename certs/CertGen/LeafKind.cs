namespace Jobs.CertGen;

/// <summary>Selects the extended key usage a leaf certificate is issued with.</summary>
public enum LeafKind
{
    /// <summary>TLS server authentication (1.3.6.1.5.5.7.3.1).</summary>
    Server,

    /// <summary>TLS client authentication (1.3.6.1.5.5.7.3.2).</summary>
    Client,
}
