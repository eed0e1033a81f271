namespace Jobs.TestSupport;

/// <summary>
/// Paths of the repository and of the programs built from it, for the configuration the running
/// assembly was built in (the folder above its <c>net10.0</c> output: Debug for tests, Release for the bench).
/// </summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Configuration { get; } = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;

    public static string Certs => Path.Combine(Root, "certs");

    public static string GatewayDll => Output("Gateway", "Jobs.Gateway.dll");

    public static string SiloDll => Output("Silo", "Jobs.Silo.dll");

    public static string ClientDll => Output("Client", "jobs.dll");

    private static string Output(string project, string file) => Path.Combine(Root, project, "bin", Configuration, "net10.0", file);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Jobs.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Jobs.sln not found above " + AppContext.BaseDirectory);
    }
}
