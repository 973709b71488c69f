using System.Globalization;
using Wirestack.Stack;

namespace Wirestack.Cli.Output;

/// <summary>
/// Prints a host's counters (<see cref="NetStack.SnapshotCounters"/>) the way <c>netstat -s</c> / <c>nstat</c> group
/// them: one block per group (Ip, Icmp, Tcp, TcpExt, Udp, the stack's budget, each link device), one counter a line,
/// under the name Linux gives it so that it can be looked up. Zeros are left out unless asked for.
/// </summary>
public sealed class CounterPrinter
{
    private readonly TextWriter _output;

    public CounterPrinter(TextWriter output)
    {
        _output = output;
    }

    /// <summary>Print zero counters too. Defaults to false: only what happened is shown.</summary>
    public bool IncludeZeros { get; init; }

    /// <summary>Indentation before each group name. Defaults to none.</summary>
    public string Indent { get; init; } = "";

    /// <summary>Prints <paramref name="host"/>'s counters under a heading with its name.</summary>
    public void Print(NetStack host)
    {
        _output.WriteLine($"{Indent}{host.Name}:");
        Print(host.SnapshotCounters(), Indent + "  ");
    }

    /// <summary>Prints a snapshot, group by group; groups with nothing to show are left out.</summary>
    public void Print(IReadOnlyDictionary<string, SortedDictionary<string, long>> snapshot, string indent = "")
    {
        foreach ((string group, SortedDictionary<string, long> counters) in snapshot.OrderBy(g => GroupOrder(g.Key)).ThenBy(g => g.Key, StringComparer.Ordinal))
        {
            List<KeyValuePair<string, long>> shown = counters.Where(c => IncludeZeros || c.Value != 0).ToList();
            if (shown.Count == 0)
            {
                continue;
            }

            _output.WriteLine($"{indent}{group}:");
            int width = Math.Max(24, shown.Max(c => c.Key.Length) + 2);
            foreach ((string name, long value) in shown)
            {
                _output.WriteLine($"{indent}    {name.PadRight(width)}{value.ToString(CultureInfo.InvariantCulture),12}");
            }
        }
    }

    /// <summary>netstat -s order: Ip, Icmp, Tcp, Udp, TcpExt, then the stack and its devices.</summary>
    private static int GroupOrder(string group) => group switch
    {
        "Ip" => 0,
        "Icmp" => 1,
        "Tcp" => 2,
        "Udp" => 3,
        "TcpExt" => 4,
        "Stack" => 5,
        _ => 6,
    };
}
