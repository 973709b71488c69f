using System.Reflection;

namespace Wirestack.Diagnostics;

/// <summary>All of one stack's counters. Plain fields incremented under the stack's lock are the source of truth;
/// <see cref="Snapshot"/> copies them for tests, the CLI and metrics.</summary>
public sealed class StackCounters
{
    public IPCounters Ip { get; } = new();
    public IcmpCounters Icmp { get; } = new();
    public UdpCounters Udp { get; } = new();
    public TcpCounters Tcp { get; } = new();

    /// <summary>Memory-budget failures (ENOBUFS) per cause, filled by the stack at snapshot time.</summary>
    public Dictionary<string, long> Extra { get; } = new();

    private static readonly string[] s_tcpMib =
    [
        "ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets", "CurrEstab", "InSegs", "OutSegs",
        "RetransSegs", "InErrs", "OutRsts", "InCsumErrors",
    ];

    /// <summary>Counters grouped as <c>/proc/net/snmp</c> and <c>/proc/net/netstat</c> group them: Ip, Icmp, Udp,
    /// Tcp, TcpExt (and one group per link device).</summary>
    public SortedDictionary<string, SortedDictionary<string, long>> Snapshot(IEnumerable<(string Name, IReadOnlyDictionary<string, long> Counters)>? links = null)
    {
        var result = new SortedDictionary<string, SortedDictionary<string, long>>(StringComparer.Ordinal)
        {
            ["Ip"] = Fields(Ip),
            ["Icmp"] = Fields(Icmp),
            ["Udp"] = Fields(Udp),
        };
        SortedDictionary<string, long> allTcp = Fields(Tcp);
        var tcp = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var tcpExt = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach ((string name, long value) in allTcp)
        {
            (Array.IndexOf(s_tcpMib, name) >= 0 ? tcp : tcpExt)[name] = value;
        }

        result["Tcp"] = tcp;
        result["TcpExt"] = tcpExt;
        if (Extra.Count > 0)
        {
            result["Stack"] = new SortedDictionary<string, long>(Extra, StringComparer.Ordinal);
        }

        if (links is not null)
        {
            foreach ((string name, IReadOnlyDictionary<string, long> counters) in links)
            {
                result["Link:" + name] = new SortedDictionary<string, long>(counters.ToDictionary(), StringComparer.Ordinal);
            }
        }

        return result;
    }

    private static SortedDictionary<string, long> Fields(object counters)
    {
        var map = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (FieldInfo field in counters.GetType().GetFields(BindingFlags.Public | BindingFlags.Instance))
        {
            if (field.FieldType == typeof(long))
            {
                map[field.Name] = (long)field.GetValue(counters)!;
            }
        }

        return map;
    }
}
