using System.Text.RegularExpressions;
using Wirestack.Cli.Output;

namespace Wirestack.Cli.Tests;

public sealed class CounterPrinterTests
{
    private static readonly SortedDictionary<string, SortedDictionary<string, long>> s_snapshot = new(StringComparer.Ordinal)
    {
        ["TcpExt"] = new(StringComparer.Ordinal) { ["TCPSynRetrans"] = 6, ["TCPTimeouts"] = 0 },
        ["Tcp"] = new(StringComparer.Ordinal) { ["ActiveOpens"] = 2, ["OutRsts"] = 0 },
        ["Udp"] = new(StringComparer.Ordinal) { ["InDatagrams"] = 0 },
        ["Ip"] = new(StringComparer.Ordinal) { ["InReceives"] = 10 },
    };

    [Fact]
    public void Print_ByDefault_ShowsOnlyNonZeroCountersInNetstatOrder()
    {
        var output = new StringWriter();

        new CounterPrinter(output).Print(s_snapshot);

        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["Ip:", "InReceives 10", "Tcp:", "ActiveOpens 2", "TcpExt:", "TCPSynRetrans 6"],
            lines.Select(l => Regex.Replace(l, " +", " ")));
    }

    [Fact]
    public void Print_IncludeZeros_ShowsEveryCounter()
    {
        var output = new StringWriter();

        new CounterPrinter(output) { IncludeZeros = true }.Print(s_snapshot);

        Assert.Contains("OutRsts", output.ToString());
        Assert.Contains("Udp:", output.ToString());
    }
}
