using System.CommandLine;
using System.CommandLine.Parsing;
using Jobs.Protos;

namespace Jobs.Client.Commands;

/// <summary>The resource limits of <c>jobs run</c> (<c>--pids</c>, <c>--cpu</c>, <c>--memory</c>, <c>--io-read-bps</c>, <c>--io-write-bps</c>) and the <see cref="Limits"/> they make.</summary>
internal static class LimitOptions
{
    public static readonly Option<int?> Pids = new("--pids")
    {
        Description = "The most processes and threads the job's tree may hold at once (a fork beyond it fails).",
        HelpName = "count",
    };

    public static readonly Option<double?> Cpu = new("--cpu")
    {
        Description = "CPU time the job's tree may use, in cores: 0.5 is half of one core, 2 is two.",
        HelpName = "cores",
    };

    public static readonly Option<long?> Memory = new("--memory")
    {
        Description = "RAM the job's tree may use, without swap, e.g. 512M, 2G (K, M, G are 1024-based). Beyond it the kernel kills a process of the job.",
        HelpName = "size",
        CustomParser = ParseSize,
    };

    public static readonly Option<string[]> IoRead = RateOption("--io-read-bps", "Read rate from the server's block devices, per second: RATE for every device, or DEVICE=RATE (e.g. /dev/sda=50M); repeatable.");

    public static readonly Option<string[]> IoWrite = RateOption("--io-write-bps", "Write rate to the server's block devices, per second: RATE for every device, or DEVICE=RATE; repeatable.");

    public static Limits? ReadLimits(ParseResult parseResult)
    {
        var limits = new Limits();
        if (parseResult.GetValue(Pids) is { } pids)
        {
            limits.Pids = pids >= 1 ? pids : throw new CliException(ExitCodes.Usage, "--pids must be at least 1");
        }

        if (parseResult.GetValue(Cpu) is { } cpu)
        {
            limits.Cpu = double.IsFinite(cpu) && cpu >= 0.01 ? cpu : throw new CliException(ExitCodes.Usage, "--cpu must be at least 0.01 (cores)");
        }

        limits.MemoryBytes = parseResult.GetValue(Memory) ?? 0;
        foreach (string text in parseResult.GetValue(IoRead) ?? [])
        {
            limits.IoRead.Add(TryParseRate(text, out var rate) ? rate : null);
        }

        foreach (string text in parseResult.GetValue(IoWrite) ?? [])
        {
            limits.IoWrite.Add(TryParseRate(text, out var rate) ? rate : null);
        }

        return limits.Equals(new Limits()) ? null : limits;
    }

    private static long? ParseSize(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (Jobs.Platform.ByteSize.TryParse(text, out long bytes))
        {
            return bytes;
        }

        result.AddError($"'{text}' is not a size (examples: 512M, 2G, 1048576)");
        return null;
    }

    private static Option<string[]> RateOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "[device=]rate",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
        Validators = { ValidateRates },
    };

    private static void ValidateRates(OptionResult result)
    {
        foreach (var token in result.Tokens)
        {
            if (!TryParseRate(token.Value, out _))
            {
                result.AddError($"{result.Option.Name} takes RATE or DEVICE=RATE (e.g. 50M, /dev/sda=10M), not '{token.Value}'");
            }
        }
    }

    private static bool TryParseRate(string text, out DeviceRate rate)
    {
        int equals = text.LastIndexOf('=');
        string device = equals < 0 ? string.Empty : text[..equals];
        rate = new DeviceRate { Device = device };
        if ((equals < 0 || device.Length > 0) && Jobs.Platform.ByteSize.TryParse(text[(equals + 1)..], out long bytes))
        {
            rate.BytesPerSecond = bytes;
            return true;
        }

        return false;
    }
}
