using Wirestack.IP;
using Wirestack.Tcp;

namespace Wirestack.Stack;

/// <summary>Everything that configures a stack: its name, seed, memory budget and the per-layer sysctls.</summary>
public sealed class NetStackOptions
{
    public string Name { get; set; } = "host";

    /// <summary>Seeds the stack's randomness (ISN secret, ports, timestamp offsets): same seed, same behaviour.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>The stack's byte budget for every buffer it holds (seed 000).</summary>
    public long MemoryBudgetBytes { get; set; } = 256L * 1024 * 1024;

    public TcpSettings Tcp { get; set; } = new();

    public IPv4Options Ip { get; set; } = new();

    /// <summary>Named profiles: "linux" (default) and "freebsd".</summary>
    public static NetStackOptions ForProfile(string profile, string name = "host", int seed = 1) => profile.ToLowerInvariant() switch
    {
        "linux" => new NetStackOptions { Name = name, Seed = seed },
        "freebsd" => new NetStackOptions { Name = name, Seed = seed, Tcp = TcpSettings.FreeBsd() },
        _ => throw new ArgumentException($"unknown profile '{profile}' (expected linux or freebsd)", nameof(profile)),
    };
}
