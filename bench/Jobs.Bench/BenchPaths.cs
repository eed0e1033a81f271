namespace Jobs.Bench;

/// <summary>Where the server programs, the certificates and the test child are.</summary>
internal sealed class BenchPaths
{
    private BenchPaths(string root)
    {
        Root = root;
    }

    /// <summary>The repository whose Release server builds are benchmarked (the server's working directory too).</summary>
    public string Root { get; }

    public string Certs => Path.Combine(Root, "certs");

    public string GatewayDll => Path.Combine(Root, "Gateway", "bin", "Release", "net10.0", "Jobs.Gateway.dll");

    public string SiloDll => Path.Combine(Root, "Silo", "bin", "Release", "net10.0", "Jobs.Silo.dll");

    /// <summary>The gRPC ceiling server, the baseline of throughput and late.</summary>
    public string CeilingDll => Path.Combine(Root, "bench", "Jobs.Bench.Ceiling", "bin", "Release", "net10.0", "Jobs.Bench.Ceiling.dll");

    /// <summary>The Native AOT CLI, where <c>dotnet publish Client -c Release -r linux-x64</c> puts it.</summary>
    public string AotCli => Path.Combine(Root, "Client", "bin", "Release", "net10.0", "linux-x64", "publish", "jobs");

    /// <summary>The test child's apphost, copied next to the bench because the bench references its project.</summary>
    public static string TestChild { get; } = Path.Combine(AppContext.BaseDirectory, "TestChild");

    public string BuildCommand => $"cd {Root} && dotnet build -c Release Gateway && dotnet build -c Release Silo && dotnet build -c Release bench/Jobs.Bench.Ceiling";

    /// <summary>The repository given, or the one this bench was built in (the folder above it holding Jobs.sln).</summary>
    public static BenchPaths Find(string? root)
    {
        if (root is not null)
        {
            return new BenchPaths(Path.GetFullPath(root));
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Jobs.sln")))
            {
                return new BenchPaths(dir.FullName);
            }
        }

        throw new UsageException("Jobs.sln not found above " + AppContext.BaseDirectory + "; give the repository with --root");
    }

    /// <summary>The files a run needs that are not there, empty when all are.</summary>
    public IReadOnlyList<string> Missing(DeploymentKind kind)
    {
        var needed = new List<string> { GatewayDll, CeilingDll, Path.Combine(Certs, "server.pem"), Path.Combine(Certs, "client1.pem"), TestChild };
        if (kind != DeploymentKind.Combined)
        {
            needed.Add(SiloDll);
        }

        return needed.Where(path => !File.Exists(path)).ToList();
    }
}
