namespace Jobs.Grains;

/// <summary>Ends this node's membership of the cluster: the silo host implements it by stopping.</summary>
public interface INodeLifetime
{
    /// <summary>Starts leaving the cluster (a graceful stop); returns at once.</summary>
    void Leave();
}
