namespace Jobs.TestSupport;

/// <summary>Where the test child program is: its apphost is copied next to every test assembly that references it.</summary>
public static class TestChildProgram
{
    /// <summary>The full path of the TestChild executable.</summary>
    public static string Path { get; } = System.IO.Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "TestChild.exe" : "TestChild");
}
