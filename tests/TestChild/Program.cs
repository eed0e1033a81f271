using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Jobs.TestChild;

/// <summary>
/// A deterministic child process for tests, so they never depend on shell utilities.
/// All output goes through the raw standard streams: no TextWriter buffering or encoding
/// preamble can change the exact bytes or their order.
/// </summary>
public static class Program
{
    /// <summary>
    /// Arguments that make <see cref="Environment.ProcessPath"/> run this program when it is hosted by
    /// another one (the Windows contract harness runs it as <c>harness child MODE ...</c>).
    /// </summary>
    public static string[] SelfPrefix { get; set; } = [];

    private const int UsageExitCode = 2;
    private const int DefaultFloodWriteSize = 64 * 1024;

    /// <summary>Runs one mode; the process's exit code.</summary>
    public static int Main(string[] args)
    {
        using var stdout = Console.OpenStandardOutput();
        using var stderr = Console.OpenStandardError();
        try
        {
            if (args.Length == 0)
            {
                throw new UsageException("missing mode");
            }

            var rest = args.AsSpan(1);
            return args[0] switch
            {
                "echo" => Echo(stdout, rest),
                "echo-err" => Echo(stderr, rest),
                "exit" => ExitWith(rest),
                "sleep" => Sleep(rest, "sleep SECONDS"),
                "flood" => Flood(stdout, rest),
                "binary" => Binary(stdout, rest),
                "interleave" => Interleave(stdout, stderr, rest),
                "drip" => Drip(stdout, rest),
                "spawn-grandchild" => SpawnGrandchild(stdout, rest),
                "sleep-setsid" => SleepSetsid(stderr, rest),
                "ignore-sigterm" => IgnoreSigterm(stdout, rest),
                "pwd" => Pwd(stdout, rest),
                "env" => Env(stdout, rest),
                "args" => Args(stdout, rest),
                "spin" => Spin(rest),
                "cat" => Cat(stdout, rest),
                "cat-when" => CatWhen(stdout, rest),
                "size-until" => SizeUntil(stdout, rest),
                "conout" => ConOut(rest),
                "con-cat" => ConCat(rest),
                "con-sleep" => ConSleep(rest),
                "con-size" => ConSize(rest),
                "token" => Token(stdout, rest),
                _ => throw new UsageException($"unknown mode '{args[0]}'"),
            };
        }
        catch (UsageException ex)
        {
            TryWriteLine(stderr, $"TestChild: {ex.Message}");
            return UsageExitCode;
        }
        catch (IOException ex)
        {
            // Typically EPIPE after the reader went away; report it rather than crash with a dump.
            TryWriteLine(stderr, $"TestChild: I/O error: {ex.Message.ReplaceLineEndings(" ")}");
            return 1;
        }
    }

    private static int Echo(Stream stream, ReadOnlySpan<string> words)
    {
        WriteText(stream, string.Join(' ', words.ToArray()) + "\n");
        return 0;
    }

    private static int ExitWith(ReadOnlySpan<string> args)
    {
        ExpectCount(args, 1, 1, "exit CODE");
        if (!int.TryParse(args[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code))
        {
            throw new UsageException($"exit: bad code '{args[0]}'");
        }
        return code;
    }

    private static int Sleep(ReadOnlySpan<string> args, string usage)
    {
        ExpectCount(args, 1, 1, usage);
        Thread.Sleep(ParseSeconds(args[0]));
        return 0;
    }

    private static int Flood(Stream stdout, ReadOnlySpan<string> args)
    {
        ExpectCount(args, 1, 2, "flood BYTES [WRITESIZE]");
        var total = ParseSize(args[0], "BYTES");
        var writeSize = args.Length > 1 ? ParseSize(args[1], "WRITESIZE") : DefaultFloodWriteSize;
        if (writeSize < 1 || writeSize > Array.MaxLength)
        {
            throw new UsageException($"flood: WRITESIZE must be between 1 and {Array.MaxLength}");
        }

        var buffer = new byte[(int)Math.Min(writeSize, Math.Max(total, 1))];
        for (long offset = 0; offset < total;)
        {
            var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, total - offset));
            Pattern.Fill(offset, chunk);
            stdout.Write(chunk);
            offset += chunk.Length;
        }
        stdout.Flush();
        return 0;
    }

    private static int Binary(Stream stdout, ReadOnlySpan<string> args)
    {
        ExpectCount(args, 0, 1, "binary [REPEAT]");
        var repeat = args.Length > 0 ? ParseNonNegative(args[0], "REPEAT") : 1;

        var block = new byte[256];
        for (var i = 0; i < block.Length; i++)
        {
            block[i] = (byte)i;
        }
        for (long round = 0; round < repeat; round++)
        {
            stdout.Write(block);
        }
        stdout.Flush();
        return 0;
    }

    private static int Interleave(Stream stdout, Stream stderr, ReadOnlySpan<string> args)
    {
        ExpectCount(args, 1, 2, "interleave COUNT [PAUSE_SECONDS]");
        var count = ParseNonNegative(args[0], "COUNT");
        var pause = args.Length > 1 ? ParseSeconds(args[1]) : TimeSpan.Zero;
        for (long i = 0; i < count; i++)
        {
            WriteText(stdout, $"out {i}\n");
            Thread.Sleep(pause);
            WriteText(stderr, $"err {i}\n");
            Thread.Sleep(pause);
        }
        return 0;
    }

    // Output spread over time, so that followers attach while a job is writing.
    private static int Drip(Stream stdout, ReadOnlySpan<string> args)
    {
        ExpectCount(args, 2, 2, "drip COUNT INTERVAL_SECONDS");
        var count = ParseNonNegative(args[0], "COUNT");
        var interval = ParseSeconds(args[1]);
        for (long i = 0; i < count; i++)
        {
            WriteText(stdout, $"line {i}\n");
            Thread.Sleep(interval);
        }

        return 0;
    }

    private static int SpawnGrandchild(Stream stdout, ReadOnlySpan<string> args)
    {
        ExpectCount(args, 1, 2, "spawn-grandchild PIDFILE [setsid]");
        var pidFile = args[0];
        var useSetsid = false;
        if (args.Length == 2)
        {
            useSetsid = args[1] == "setsid"
                ? true
                : throw new UsageException($"spawn-grandchild: expected 'setsid', got '{args[1]}'");
        }

        var start = CreateSelfStartInfo();
        start.ArgumentList.Add(useSetsid ? "sleep-setsid" : "sleep");
        start.ArgumentList.Add("600");
        // No redirection on purpose: the grandchild inherits our stdout/stderr, which is exactly
        // what tests need to check that a runner does not hang on pipes held by descendants.
        start.UseShellExecute = false;

        int pid;
        try
        {
            using var grandchild = Process.Start(start)
                ?? throw new InvalidOperationException("Process.Start returned null");
            pid = grandchild.Id;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            // Refused by a limit (fork: EAGAIN, a Job Object's process count): say so and fail.
            TryWriteLine(Console.OpenStandardError(), $"TestChild: cannot start the grandchild: {ex.Message}");
            return 4;
        }

        // Readers poll the pid file, so it must never be observed half-written.
        var tempFile = $"{pidFile}.{Environment.ProcessId}.tmp";
        File.WriteAllText(tempFile, pid.ToString(CultureInfo.InvariantCulture) + "\n");
        File.Move(tempFile, pidFile, overwrite: true);

        WriteText(stdout, "ready\n");
        Thread.Sleep(TimeSpan.FromSeconds(600));
        return 0;
    }

    private static int SleepSetsid(Stream stderr, ReadOnlySpan<string> args)
    {
        ExpectCount(args, 1, 1, "sleep-setsid SECONDS");
        var duration = ParseSeconds(args[0]);
        if (OperatingSystem.IsWindows())
        {
            throw new UsageException("sleep-setsid: not supported on Windows");
        }
        if (NativeMethods.setsid() == -1)
        {
            WriteText(stderr, $"TestChild: setsid failed, errno {Marshal.GetLastPInvokeError()}\n");
            return 1;
        }
        Thread.Sleep(duration);
        return 0;
    }

    private static int IgnoreSigterm(Stream stdout, ReadOnlySpan<string> args)
    {
        ExpectCount(args, 1, 1, "ignore-sigterm SECONDS");
        var duration = ParseSeconds(args[0]);
        // Cancelling suppresses the runtime's default SIGTERM shutdown; the registration must
        // stay alive for as long as the signal should be ignored.
        using var registration = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => context.Cancel = true);
        WriteText(stdout, "ready\n");
        Thread.Sleep(duration);
        return 0;
    }

    private static int Pwd(Stream stdout, ReadOnlySpan<string> args)
    {
        ExpectCount(args, 0, 0, "pwd");
        WriteText(stdout, Environment.CurrentDirectory + "\n");
        return 0;
    }

    private static int Env(Stream stdout, ReadOnlySpan<string> args)
    {
        ExpectCount(args, 1, 1, "env NAME");
        var value = Environment.GetEnvironmentVariable(args[0]);
        if (value is null)
        {
            return 3;
        }
        WriteText(stdout, value + "\n");
        return 0;
    }

    private static int Args(Stream stdout, ReadOnlySpan<string> args)
    {
        var text = new StringBuilder();
        foreach (var arg in args)
        {
            text.Append(arg).Append('\n');
        }
        WriteText(stdout, text.ToString());
        return 0;
    }

    // Keeps one core busy, so that tests can run while the machine is loaded.
    private static int Spin(ReadOnlySpan<string> args)
    {
        ExpectCount(args, 1, 1, "spin SECONDS");
        var until = Stopwatch.GetTimestamp() + (long)(ParseSeconds(args[0]).TotalSeconds * Stopwatch.Frequency);
        long turns = 0;
        while (Stopwatch.GetTimestamp() < until)
        {
            turns++;
        }

        return turns >= 0 ? 0 : 1;
    }

    // Stdin to stdout, byte for byte, until end of file: what the stdin checks feed and compare.
    private static int Cat(Stream stdout, ReadOnlySpan<string> args)
    {
        ExpectCount(args, 0, 0, "cat");
        return Copy(stdout);
    }

    // Reads nothing until FILE exists, then is cat: a job that does not read its stdin, until told.
    private static int CatWhen(Stream stdout, ReadOnlySpan<string> args)
    {
        ExpectCount(args, 1, 1, "cat-when FILE");
        while (!File.Exists(args[0]))
        {
            Thread.Sleep(20);
        }

        return Copy(stdout);
    }

    // Prints the terminal's size ("size ROWSxCOLUMNS") at start and on each change, and exits 0 once
    // it is ROWSxCOLUMNS: a resize check that needs no signal handling (Windows has no SIGWINCH).
    private static int SizeUntil(Stream stdout, ReadOnlySpan<string> args)
    {
        ExpectCount(args, 2, 2, "size-until ROWS COLUMNS");
        var rows = ParseNonNegative(args[0], "ROWS");
        var columns = ParseNonNegative(args[1], "COLUMNS");
        (int Rows, int Columns) seen = (-1, -1);
        while (true)
        {
            var now = (Console.WindowHeight, Console.WindowWidth);
            if (now != seen)
            {
                seen = now;
                WriteText(stdout, $"size {now.WindowHeight}x{now.WindowWidth}\n");
            }

            if (now.WindowHeight == rows && now.WindowWidth == columns)
            {
                return 0;
            }

            Thread.Sleep(20);
        }
    }

    // Writes to the console itself (CONOUT$), whatever stdout is: how prompts reach a person even
    // when output is redirected, and the one way out of a pseudoconsole under Wine 8, which gives
    // its children no standard handles.
    private static int ConOut(ReadOnlySpan<string> words)
    {
        using var console = OpenConsole("CONOUT$", FileAccess.Write);
        WriteText(console, string.Join(' ', words.ToArray()) + "\n");
        return 0;
    }

    // Copies the console's input (CONIN$) to the console (CONOUT$), each read as "got:" and the
    // bytes in one write, until end of file: a line typed Ctrl+Z, Enter. Windows' ReadFile returns
    // no bytes for it; Wine 8 returns the Ctrl+Z itself (measured), which ends the copy too, as the
    // C runtime's text mode does.
    private static int ConCat(ReadOnlySpan<string> args)
    {
        ExpectCount(args, 0, 0, "con-cat");
        using var input = OpenConsole("CONIN$", FileAccess.Read);
        using var output = OpenConsole("CONOUT$", FileAccess.Write);
        var buffer = new byte[4096];
        int got;
        while ((got = input.Read(buffer, 4, buffer.Length - 4)) > 0 && buffer[4] != 0x1A)
        {
            "got:"u8.CopyTo(buffer);
            output.Write(buffer.AsSpan(0, 4 + got));
            output.Flush();
        }

        return 0;
    }

    // Says "ready" on the console (CONOUT$) once it is attached to it, then sleeps: a child that
    // only a console event (Ctrl+C) or a kill ends.
    private static int ConSleep(ReadOnlySpan<string> args)
    {
        ExpectCount(args, 1, 1, "con-sleep SECONDS");
        var duration = ParseSeconds(args[0]);
        using (var console = OpenConsole("CONOUT$", FileAccess.Write))
        {
            WriteText(console, "ready\n");
        }

        Thread.Sleep(duration);
        return 0;
    }

    // Writes the console window's size ("size ROWSxCOLUMNS") to the console itself.
    private static int ConSize(ReadOnlySpan<string> args)
    {
        ExpectCount(args, 0, 0, "con-size");
        using var console = OpenConsole("CONOUT$", FileAccess.ReadWrite);
        if (!NativeMethods.GetConsoleScreenBufferInfo(console.SafeFileHandle, out var info))
        {
            throw new IOException($"GetConsoleScreenBufferInfo failed, error {Marshal.GetLastPInvokeError()}");
        }

        WriteText(console, $"size {info.Bottom - info.Top + 1}x{info.Right - info.Left + 1}\n");
        return 0;
    }

    // Prints the token this process runs with (Windows), one fact a line (see WindowsToken): what
    // whoami /all shows, in a form of this program's own (Wine's whoami prints the user name only,
    // whatever it is asked).
    private static int Token(Stream stdout, ReadOnlySpan<string> args)
    {
        ExpectCount(args, 0, 0, "token");
        WriteText(stdout, OperatingSystem.IsWindows() ? WindowsToken.Describe() : throw new UsageException("token: a Windows token exists on Windows only"));
        return 0;
    }

    private static FileStream OpenConsole(string name, FileAccess access) =>
        OperatingSystem.IsWindows()
            ? new FileStream(name, FileMode.Open, access, FileShare.ReadWrite, bufferSize: 0)
            : throw new UsageException($"{name} exists on Windows only");

    private static int Copy(Stream stdout)
    {
        using var stdin = Console.OpenStandardInput();
        var buffer = new byte[64 * 1024];
        int got;
        while ((got = stdin.Read(buffer)) > 0)
        {
            stdout.Write(buffer.AsSpan(0, got));
        }

        stdout.Flush();
        return 0;
    }

    private static ProcessStartInfo CreateSelfStartInfo()
    {
        var processPath = Environment.ProcessPath
            ?? throw new InvalidOperationException("Environment.ProcessPath is unavailable");
        var start = new ProcessStartInfo(processPath);
        // Under 'dotnet TestChild.dll' the process path is the host, which needs the dll first.
        if (string.Equals(Path.GetFileNameWithoutExtension(processPath), "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(typeof(Program).Assembly.Location);
        }

        foreach (string arg in SelfPrefix)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    private static void ExpectCount(ReadOnlySpan<string> args, int min, int max, string usage)
    {
        if (args.Length < min || args.Length > max)
        {
            throw new UsageException($"usage: TestChild {usage}");
        }
    }

    private static TimeSpan ParseSeconds(string text)
    {
        // Thread.Sleep accepts at most int.MaxValue milliseconds.
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            || !double.IsFinite(seconds) || seconds < 0 || seconds * 1000 > int.MaxValue)
        {
            throw new UsageException($"bad SECONDS '{text}'");
        }
        return TimeSpan.FromSeconds(seconds);
    }

    private static long ParseNonNegative(string text, string name)
    {
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw new UsageException($"bad {name} '{text}'");
        }
        return value;
    }

    /// <summary>Parses a byte count with an optional K, M or G (1024-based) suffix.</summary>
    private static long ParseSize(string text, string name)
    {
        var multiplier = 1L;
        var digits = text.AsSpan();
        if (digits.Length > 0)
        {
            var shift = char.ToUpperInvariant(digits[^1]) switch
            {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                _ => 0,
            };
            if (shift != 0)
            {
                multiplier = 1L << shift;
                digits = digits[..^1];
            }
        }

        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            || value > long.MaxValue / multiplier)
        {
            throw new UsageException($"bad {name} '{text}'");
        }
        return value * multiplier;
    }

    private static void WriteText(Stream stream, string text)
    {
        stream.Write(Encoding.UTF8.GetBytes(text));
        stream.Flush();
    }

    private static void TryWriteLine(Stream stream, string line)
    {
        try
        {
            WriteText(stream, line.ReplaceLineEndings(" ") + "\n");
        }
        catch (IOException)
        {
            // stderr is gone too; the exit code is all that is left to report with.
        }
    }
}
