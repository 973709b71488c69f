using System.Globalization;
using Wirestack.Stack;

namespace Wirestack.Cli.Scenarios;

internal sealed partial class DemoScript
{
    /// <summary>The rows of the counters table: where each counter lives, its Linux name, and what it counts.</summary>
    private static readonly (string Group, string Name, string Meaning)[] s_counterRows =
    [
        ("Tcp", "ActiveOpens", "connections this host opened (connect)"),
        ("Tcp", "PassiveOpens", "connections a listener accepted"),
        ("Tcp", "RetransSegs", "segments sent again (data and SYNs)"),
        ("Tcp", "OutRsts", "resets sent"),
        ("Tcp", "AttemptFails", "connection attempts that failed"),
        ("TcpExt", "TCPSynRetrans", "SYNs sent again"),
        ("TcpExt", "TCPTimeouts", "retransmission timeouts"),
        ("Ip", "OutNoRoutes", "packets dropped for want of a route"),
        ("Udp", "InDatagrams", "datagrams delivered to a socket"),
        ("Icmp", "InEchos", "echo requests received"),
        ("Link", "rx_packets", "packets received, all devices"),
        ("Link", "tx_packets", "packets sent, all devices"),
    ];

    public void PrintCounters()
    {
        NetStack[] hosts = [Alice, Bob, Carol];
        _say.Heading("5. What the counters say (Linux names, as netstat -s and nstat show them)");
        var snapshots = hosts.Select(h => h.SnapshotCounters()).ToArray();
        _say.Line($"  {"",-22}{string.Concat(hosts.Select(h => $"{h.Name,8}"))}");
        string? lastGroup = null;
        foreach ((string group, string name, string meaning) in s_counterRows)
        {
            string label = group == lastGroup ? "" : group;
            lastGroup = group;
            string values = string.Concat(snapshots.Select(s => $"{Value(s, group, name).ToString(CultureInfo.InvariantCulture),8}"));
            _say.Line($"  {label,-7}{name,-15}{values}   {meaning}");
        }

        long carolResets = Value(snapshots[2], "Tcp", "OutRsts");
        if (carolResets > 0 && Value(snapshots[2], "Ip", "OutNoRoutes") >= carolResets)
        {
            _say.Line($"  carol did answer each SYN with a reset (nothing listens on port {SilentPort}), but with no route all {carolResets}");
            _say.Line("  were dropped before they left her: OutRsts counts them as sent, as Linux does, and OutNoRoutes says why.");
        }

        _say.Line("  (wirestack demo --json has every counter of every host)");
    }

    /// <summary>A counter from a snapshot; for "Link", the sum over the host's devices.</summary>
    public static long Value(SortedDictionary<string, SortedDictionary<string, long>> snapshot, string group, string name)
    {
        if (group == "Link")
        {
            return snapshot.Where(g => g.Key.StartsWith("Link:", StringComparison.Ordinal))
                .Sum(g => g.Value.GetValueOrDefault(name));
        }

        return snapshot.TryGetValue(group, out SortedDictionary<string, long>? counters) ? counters.GetValueOrDefault(name) : 0;
    }
}
