using System.Runtime;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Wirestack.Cli.Bench;

/// <summary>What the figures were measured on: cores, CPU model (/proc/cpuinfo), memory, OS, kernel, .NET.</summary>
internal sealed record MachineInfo(int Cores, string Cpu, long MemoryBytes, string Os, string Kernel, string Dotnet, string Gc, string LoadAverage)
{
    public static MachineInfo Current()
    {
        string cpu = FirstValue("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        long memory = 0;
        if (FirstValue("/proc/meminfo", "MemTotal") is { } total && long.TryParse(total.Split(' ')[0], out long kb))
        {
            memory = kb * 1024;
        }

        string os = RuntimeInformation.OSDescription;
        if (FirstValue("/etc/os-release", "PRETTY_NAME", '=') is { } pretty)
        {
            os = pretty.Trim('"');
        }

        string kernel = ReadLine("/proc/sys/kernel/osrelease") ?? Environment.OSVersion.VersionString;
        string gc = (GCSettings.IsServerGC ? "server" : "workstation") + (GCSettings.LatencyMode == GCLatencyMode.Batch ? "" : ", concurrent");
        return new MachineInfo(Environment.ProcessorCount, cpu, memory, os, kernel, RuntimeInformation.FrameworkDescription, gc, CurrentLoadAverage());
    }

    public JsonObject ToJson() => new()
    {
        ["cores"] = Cores,
        ["cpu"] = Cpu,
        ["memory_bytes"] = MemoryBytes,
        ["os"] = Os,
        ["kernel"] = Kernel,
        ["dotnet"] = Dotnet,
        ["gc"] = Gc,
        ["load_average"] = LoadAverage,
    };

    /// <summary>The 1, 5 and 15 minute load averages (/proc/loadavg): other work on the machine skews wall-clock
    /// figures; the per-CPU-second figures are less sensitive to it.</summary>
    public static string CurrentLoadAverage()
    {
        string? line = ReadLine("/proc/loadavg");
        return line is null ? "?" : string.Join(' ', line.Split(' ').Take(3));
    }

    public override string ToString() =>
        $"{Cores} cores, {Cpu}, {MemoryBytes / (1L << 30)} GiB, {Os}, Linux {Kernel}, {Dotnet} ({Gc} GC), load average {LoadAverage}";

    private static string? FirstValue(string path, string key, char separator = ':')
    {
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                int at = line.IndexOf(separator);
                if (at > 0 && line[..at].Trim() == key)
                {
                    return line[(at + 1)..].Trim();
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }

    private static string? ReadLine(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
