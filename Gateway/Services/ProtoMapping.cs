using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Jobs.Grains;
using Proto = Jobs.Protos;

namespace Jobs.Gateway.Services;

/// <summary>Translates grain records to the wire contract.</summary>
internal static class ProtoMapping
{
    public static Proto.JobStatus ToProto(this JobStatus status)
    {
        var proto = new Proto.JobStatus
        {
            JobId = status.JobId,
            State = status.State switch
            {
                JobState.Running => Proto.JobState.Running,
                JobState.Exited => Proto.JobState.Exited,
                JobState.Killed => Proto.JobState.Killed,
                JobState.Lost => Proto.JobState.Lost,
                _ => Proto.JobState.Unspecified,
            },
            Command = status.Command,
            Pid = status.Pid,
            ExitCode = status.ExitCode ?? 0,
            Signal = status.Signal ?? 0,
            SignalName = status.SignalName ?? string.Empty,
            StartedAt = Timestamp.FromDateTimeOffset(status.StartedAt),
            EndedAt = status.EndedAt is { } ended ? Timestamp.FromDateTimeOffset(ended) : null,
            StdoutBytes = status.StdoutBytes,
            StderrBytes = status.StderrBytes,
            EndReason = status.EndReason switch
            {
                EndReason.KilledByRequest => Proto.EndReason.KilledByRequest,
                EndReason.TimedOut => Proto.EndReason.TimedOut,
                EndReason.OutOfMemory => Proto.EndReason.OutOfMemory,
                _ => Proto.EndReason.Unspecified,
            },
            OomKills = status.OomKills,
            Limits = status.Limits?.ToProto(),
            Isolated = status.Isolated,
            Owner = status.Owner,
            Node = status.Node,
            OutputLostBytes = status.OutputLostBytes,
            OutputLostReason = status.OutputLostReason.ToProto(),
            OutputRemoved = status.OutputRemoved,
            Stdin = status.Stdin,
            Terminal = status.Terminal,
            User = status.User,
        };
        if (status.Uid is { } uid)
        {
            proto.Uid = uid;
        }

        proto.Usage = status.Usage?.ToProto();

        proto.Args.AddRange(status.Args);
        return proto;
    }

    public static Proto.Node ToProto(this ClusterNode node)
    {
        var proto = new Proto.Node
        {
            Name = node.Name,
            Address = SiloEndpoint(node.Address),
            Status = node.Status switch
            {
                NodeStatus.Active => Proto.NodeStatus.Active,
                NodeStatus.Joining => Proto.NodeStatus.Joining,
                NodeStatus.ShuttingDown => Proto.NodeStatus.ShuttingDown,
                NodeStatus.Dead => Proto.NodeStatus.Dead,
                NodeStatus.Draining => Proto.NodeStatus.Draining,
                _ => Proto.NodeStatus.Unspecified,
            },
            AcceptsJobs = node.TakesJobs,
            Answered = node.Info is not null,
        };
        if (node.Info is { } info)
        {
            proto.RunningJobs = info.RunningJobs;
            proto.CpuPercent = info.CpuPercent;
            proto.CpuCount = info.CpuCount;
            proto.MemoryUsedBytes = info.MemoryUsedBytes;
            proto.MemoryTotalBytes = info.MemoryTotalBytes;
            proto.StartedAt = Timestamp.FromDateTimeOffset(info.StartedAt);
            proto.Uptime = Duration.FromTimeSpan(info.Uptime);
            if (info.JobsUsed is { } used)
            {
                proto.JobsBudget = new Proto.JobsBudget { Used = used.ToProto() };
                if (info.JobsMaxProcesses is { } processes)
                {
                    proto.JobsBudget.MaxProcesses = processes;
                }

                if (info.JobsMaxMemoryBytes is { } memory)
                {
                    proto.JobsBudget.MaxMemoryBytes = memory;
                }

                if (info.JobsCpuWeight is { } weight)
                {
                    proto.JobsBudget.CpuWeight = weight;
                }
            }
        }

        return proto;
    }

    public static Proto.Usage ToProto(this JobUsage usage)
    {
        var proto = new Proto.Usage();
        if (usage.CpuTime is { } cpu)
        {
            proto.CpuTime = Duration.FromTimeSpan(cpu);
        }

        if (usage.MemoryBytes is { } memory)
        {
            proto.MemoryBytes = memory;
        }

        if (usage.MemoryPeakBytes is { } peak)
        {
            proto.MemoryPeakBytes = peak;
        }

        if (usage.Tasks is { } tasks)
        {
            proto.Tasks = tasks;
        }

        if (usage.IoReadBytes is { } read)
        {
            proto.IoReadBytes = read;
        }

        if (usage.IoWriteBytes is { } write)
        {
            proto.IoWriteBytes = write;
        }

        return proto;
    }

    // "127.0.0.1:11111@123456" (address, port, generation) is shown as host:port.
    private static string SiloEndpoint(string silo)
    {
        int at = silo.LastIndexOf('@');
        return at < 0 ? silo : silo[..at];
    }

    public static Proto.Limits ToProto(this JobLimits limits)
    {
        var proto = new Proto.Limits
        {
            Pids = limits.MaxProcesses ?? 0,
            Cpu = limits.CpuCores ?? 0,
            MemoryBytes = limits.MemoryBytes ?? 0,
        };
        proto.IoRead.AddRange(limits.IoRead.Select(ToProto));
        proto.IoWrite.AddRange(limits.IoWrite.Select(ToProto));
        return proto;
    }

    private static Proto.DeviceRate ToProto(IoRate rate) => new() { Device = rate.Device ?? string.Empty, BytesPerSecond = rate.BytesPerSecond };

    /// <summary>The limits a run request asks for; zero fields ask for nothing.</summary>
    /// <exception cref="InvalidJobSpecException">A value is negative or not a number.</exception>
    public static JobLimits? FromProto(Proto.Limits? limits)
    {
        if (limits is null)
        {
            return null;
        }

        if (limits.Pids < 0 || limits.Cpu < 0 || !double.IsFinite(limits.Cpu) || limits.MemoryBytes < 0)
        {
            throw new InvalidJobSpecException("limits cannot be negative");
        }

        return new JobLimits
        {
            MaxProcesses = limits.Pids == 0 ? null : limits.Pids,
            CpuCores = limits.Cpu == 0 ? null : limits.Cpu,
            MemoryBytes = limits.MemoryBytes == 0 ? null : limits.MemoryBytes,
            IoRead = [.. limits.IoRead.Select(FromProto)],
            IoWrite = [.. limits.IoWrite.Select(FromProto)],
        };
    }

    private static IoRate FromProto(Proto.DeviceRate rate) => rate.BytesPerSecond > 0
        ? new IoRate(string.IsNullOrEmpty(rate.Device) ? null : rate.Device, rate.BytesPerSecond)
        : throw new InvalidJobSpecException($"the I/O rate for '{(rate.Device.Length == 0 ? "every device" : rate.Device)}' must be positive");

    /// <exception cref="InvalidRequestException">The duration is not a valid (normalized) protobuf duration.</exception>
    public static TimeSpan? FromProto(Duration? duration, string field)
    {
        try
        {
            return duration?.ToTimeSpan();
        }
        catch (InvalidOperationException)
        {
            throw new InvalidRequestException($"{field} is not a valid duration (seconds and nanos of one sign, nanos below 1e9, within 10,000 years)");
        }
    }

    /// <exception cref="InvalidRequestException">The time is not a valid protobuf timestamp.</exception>
    public static long FromProto(Timestamp time, string field)
    {
        try
        {
            return time.ToDateTime().Ticks;
        }
        catch (InvalidOperationException)
        {
            throw new InvalidRequestException($"{field} is not a valid time (nanos from 0 to 999,999,999, years 1 to 9999)");
        }
    }

    public static Proto.DropReason ToProto(this OutputDropReason reason) => reason switch
    {
        OutputDropReason.Cap => Proto.DropReason.Cap,
        OutputDropReason.DiskFull => Proto.DropReason.DiskFull,
        OutputDropReason.Budget => Proto.DropReason.Budget,
        _ => Proto.DropReason.Unspecified,
    };

    public static Proto.OutputChunk ToProto(this OutputRecord record) => new()
    {
        Stream = record.Stream == OutputStreamKind.Stdout ? Proto.OutputStream.Stdout : Proto.OutputStream.Stderr,
        Offset = record.Offset,

        // Records are immutable once recorded, so the bytes can go out without a copy.
        Data = UnsafeByteOperations.UnsafeWrap(record.Data),
        Time = record.Ticks > 0 ? Timestamp.FromDateTime(new DateTime(record.Ticks, DateTimeKind.Utc)) : null,
    };
}
