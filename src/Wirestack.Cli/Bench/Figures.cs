using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Wirestack.Cli.Bench;

// What each measurement produces, on either side (Wirestack in this process, the kernel baseline possibly in a
// subprocess that prints the same records as JSON).

/// <summary>Bulk throughput: payload bits per second read by the receiving application.</summary>
internal sealed record BulkFigure(double Gbps, long Bytes, double Seconds, long Segments = 0, long Retransmits = 0, long RxMissed = 0,
    int Mss = 0, long AllocatedBytes = 0, int Gen0Collections = 0, double CpuSeconds = 0, bool JitSettled = true)
{
    public JsonObject ToJson() => new()
    {
        ["gbps"] = Gbps, ["bytes"] = Bytes, ["seconds"] = Seconds, ["segments"] = Segments, ["retransmits"] = Retransmits,
        ["allocated_bytes"] = AllocatedBytes, ["gen0_collections"] = Gen0Collections, ["cpu_seconds"] = CpuSeconds, ["jit_settled"] = JitSettled,
    };

    public static BulkFigure FromJson(JsonNode node) =>
        new((double)node["gbps"]!, (long)node["bytes"]!, (double)node["seconds"]!, CpuSeconds: (double?)node["cpu_seconds"] ?? 0);
}

/// <summary>Connections completed per second.</summary>
internal sealed record RateFigure(double PerSecond, long Count, double Seconds, long TimeWaitRecycled = 0, long Retransmits = 0,
    long AllocatedBytes = 0, double CpuSeconds = 0, bool JitSettled = true)
{
    public JsonObject ToJson() => new()
    {
        ["per_second"] = PerSecond, ["count"] = Count, ["seconds"] = Seconds, ["allocated_bytes"] = AllocatedBytes, ["cpu_seconds"] = CpuSeconds,
        ["jit_settled"] = JitSettled,
    };

    public static RateFigure FromJson(JsonNode node) =>
        new((double)node["per_second"]!, (long)node["count"]!, (double)node["seconds"]!, CpuSeconds: (double?)node["cpu_seconds"] ?? 0);
}

/// <summary>Round-trip times in microseconds.</summary>
internal sealed record LatencyFigure(double MedianUs, double P99Us, int Samples, long AllocatedBytes = 0, bool JitSettled = true)
{
    public static LatencyFigure From(long[] stopwatchTicks, long allocatedBytes = 0, bool jitSettled = true)
    {
        Array.Sort(stopwatchTicks);
        double Us(long ticks) => ticks * 1e6 / Stopwatch.Frequency;
        return new LatencyFigure(Us(stopwatchTicks[stopwatchTicks.Length / 2]),
            Us(stopwatchTicks[Math.Min(stopwatchTicks.Length - 1, (int)(stopwatchTicks.Length * 0.99))]), stopwatchTicks.Length, allocatedBytes, jitSettled);
    }

    public JsonObject ToJson() => new() { ["median_us"] = MedianUs, ["p99_us"] = P99Us, ["samples"] = Samples, ["allocated_bytes"] = AllocatedBytes, ["jit_settled"] = JitSettled };

    public static LatencyFigure FromJson(JsonNode node) => new((double)node["median_us"]!, (double)node["p99_us"]!, (int)node["samples"]!);
}

/// <summary>Memory per idle established endpoint (one end of a connection), in bytes: the managed heap, the
/// process's resident set, and (kernel baseline) the kernel's slab growth, which is where kernel sockets live.
/// <see cref="Requested"/> connections were asked for; <see cref="Open"/> were open when measured.</summary>
internal sealed record MemoryFigure(int Open, long Established, double ManagedPerEndpoint, double RssPerEndpoint, double KernelPerEndpoint,
    double SetupSeconds, int Requested = 0, string? Limit = null)
{
    /// <summary>Everything that endpoint costs the machine: the process's resident growth plus the kernel's.</summary>
    public double TotalPerEndpoint => RssPerEndpoint + KernelPerEndpoint;

    public JsonObject ToJson() => new()
    {
        ["open"] = Open, ["established"] = Established, ["managed_per_endpoint"] = ManagedPerEndpoint, ["rss_per_endpoint"] = RssPerEndpoint,
        ["kernel_per_endpoint"] = KernelPerEndpoint, ["setup_seconds"] = SetupSeconds, ["requested"] = Requested, ["limit"] = Limit,
    };

    public static MemoryFigure FromJson(JsonNode node) => new((int)node["open"]!, (long)node["established"]!,
        (double)node["managed_per_endpoint"]!, (double)node["rss_per_endpoint"]!, (double)node["kernel_per_endpoint"]!,
        (double)node["setup_seconds"]!, (int)node["requested"]!, (string?)node["limit"]);
}

/// <summary>A transfer in virtual time: how long it took on the wall clock and in simulated time.</summary>
internal sealed record SimulatedFigure(long Bytes, double SimulatedSeconds, double WallSeconds, long Retransmits, long Steps = 0, double CpuSeconds = 0)
{
    public JsonObject ToJson() => new()
    {
        ["bytes"] = Bytes, ["simulated_seconds"] = SimulatedSeconds, ["wall_seconds"] = WallSeconds, ["retransmits"] = Retransmits,
        ["steps"] = Steps, ["cpu_seconds"] = CpuSeconds,
    };
}

/// <summary>Resident memory of this process and of the kernel's slab caches, read from /proc.</summary>
internal static class ProcessMemory
{
    /// <summary>VmRSS from /proc/self/status, in bytes; falls back to <see cref="Environment.WorkingSet"/> (which
    /// is the same figure on Linux) where /proc is not there.</summary>
    public static long ResidentBytes() => ReadKilobytes("/proc/self/status", "VmRSS:") is { } kb ? kb * 1024 : Environment.WorkingSet;

    /// <summary>Slab: from /proc/meminfo (all of the kernel's slab caches, where sockets, inodes and files live),
    /// in bytes; 0 where it cannot be read.</summary>
    public static long KernelSlabBytes() => (ReadKilobytes("/proc/meminfo", "Slab:") ?? 0) * 1024;

    /// <summary>The soft limit on open files ("Max open files" in /proc/self/limits), or null.</summary>
    public static long? OpenFileLimit()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.TryParse(parts[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out long soft) ? soft : null;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    private static long? ReadKilobytes(string path, string key)
    {
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    string number = line[key.Length..].Trim().Split(' ')[0];
                    return long.Parse(number, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }
}

/// <summary>CPU time used by this process so far (all threads, user and system).</summary>
internal static class CpuTime
{
    public static TimeSpan Process()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>CPU time of the calling thread (user + system, clock ticks from <c>/proc/thread-self/stat</c>;
    /// zero where there is no such file): what one thread's loop costs, without the JIT's and GC's threads and
    /// less disturbed by other processes than the wall clock.</summary>
    public static TimeSpan Thread()
    {
        try
        {
            string stat = File.ReadAllText("/proc/thread-self/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) +
                long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture); // utime, stime (fields 14, 15)
            return TimeSpan.FromSeconds(ticks / 100.0);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }
}

/// <summary>Decides when a warm-up is over: the warm-up time has passed and the JIT has compiled nothing for the
/// last 300 ms (tiered compilation has promoted the hot loop to optimized code), or ten times the warm-up time has
/// passed, whichever comes first. On a loaded machine the JIT's background thread gets little CPU and tiering takes
/// long; <see cref="Settled"/> says whether it finished.</summary>
internal sealed class WarmupGate(TimeSpan warmup)
{
    private readonly long _minimum = (long)(warmup.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
    private readonly long _settle = System.Diagnostics.Stopwatch.Frequency * 3 / 10;
    private long _compiledAt;
    private long _compiled = -1;

    /// <summary>True when the warm-up ended because the JIT went quiet (not because time ran out).</summary>
    public bool Settled { get; private set; }

    /// <summary>Whether the warm-up is over at <paramref name="elapsedTicks"/> (Stopwatch ticks since the start).</summary>
    public bool IsOver(long elapsedTicks)
    {
        long compiled = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: false);
        if (compiled != _compiled)
        {
            _compiled = compiled;
            _compiledAt = elapsedTicks;
        }

        if (elapsedTicks < _minimum)
        {
            return false;
        }

        Settled = elapsedTicks - _compiledAt >= _settle;
        return Settled || elapsedTicks >= 10 * _minimum;
    }
}
