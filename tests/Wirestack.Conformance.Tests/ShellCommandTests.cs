using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Tcp;

namespace Wirestack.Conformance.Tests;

/// <summary>Shell commands in scripts become stack settings, no-ops, or a skip naming them.</summary>
public sealed class ShellCommandTests
{
    [Fact]
    public void DefaultsSh_AppliesTheGtestsSysctls()
    {
        var settings = new TcpSettings();
        ShellCommands.Apply("../common/defaults.sh", settings);
        Assert.Equal(540000, settings.ReceiveBufferDefault);
        Assert.Equal(15728640, settings.ReceiveBufferMax);
        Assert.Equal(262144, settings.SendBufferDefault);
        Assert.Equal(5, settings.SynRetries);
        Assert.Equal(5, settings.SynAckRetries);
        Assert.True(settings.Timestamps);
        Assert.Equal("cubic", settings.CongestionControl);
        Assert.Equal(3, settings.TsoWinDivisor);
        ShellCommands.Apply("sysctl -q net.ipv4.tcp_tso_win_divisor=0", settings);
        Assert.Equal(0, settings.TsoWinDivisor); // the TSO deferral's fraction of the window
    }

    [Fact]
    public void Sysctl_QuotedValuesShellArithmeticAndSeveralPerLine()
    {
        var settings = new TcpSettings();
        ShellCommands.Apply("sysctl -q net.ipv4.tcp_rmem=\"4096 131072 $((32*1024*1024))\" net.ipv4.tcp_window_scaling=0\n" +
                            "../common/set_sysctls.py /proc/sys/net/ipv4/tcp_syn_retries=2 \\\n /proc/sys/net/ipv4/tcp_timestamps=0", settings);
        Assert.Equal(131072, settings.ReceiveBufferDefault);
        Assert.Equal(32 * 1024 * 1024, settings.ReceiveBufferMax);
        Assert.False(settings.WindowScaling);
        Assert.Equal(2, settings.SynRetries);
        Assert.False(settings.Timestamps);
    }

    [Fact]
    public void SlowStartAfterIdle_IsASettingBothWays()
    {
        var settings = new TcpSettings();
        Assert.True(settings.SlowStartAfterIdle); // Linux's default
        ShellCommands.Apply("../common/defaults.sh", settings);
        Assert.False(settings.SlowStartAfterIdle); // the gtests' defaults.sh turns it off
        ShellCommands.Apply("../common/set_sysctls.py /proc/sys/net/ipv4/tcp_slow_start_after_idle=1", settings);
        Assert.True(settings.SlowStartAfterIdle);
    }

    [Fact]
    public void FreeBsdSysctls_MapOrAreAcceptedAtTheirDefault()
    {
        TcpSettings settings = TcpSettings.FreeBsd();
        ShellCommands.Apply("sysctl -w net.inet.tcp.recvspace=65536", settings);
        ShellCommands.Apply("sysctl -w net.inet.tcp.keepinit=75000", settings);
        ShellCommands.Apply("sysctl -w net.inet.tcp.rexmit_slop=200", settings);
        Assert.Equal(65536, settings.ReceiveBufferDefault);
        Assert.Equal(TimeSpan.FromSeconds(75), settings.ConnectTimeout);
        Assert.Throws<ScriptSkipException>(() => ShellCommands.Apply("sysctl -w net.inet.tcp.rexmit_slop=10", settings));
    }

    [Theory]
    [InlineData("nstat -n --json", "shell command `nstat -n --json` (nstat --json)")]
    [InlineData("nstat | sort", "shell command `nstat | sort` (a pipeline stage other than grep)")]
    [InlineData("nstat | grep 'Tcp(Ext)?'", "shell command `nstat | grep 'Tcp(Ext)?'` (a basic grep pattern with operators)")]
    [InlineData("netstat -an | grep TIME_WAIT", "shell command `netstat -an | grep TIME_WAIT`")]
    [InlineData("sockstat -6", "shell command `sockstat -6` (sockstat -6)")]
    [InlineData("sysctl -q net.ipv4.tcp_ecn=1", "sysctl net.ipv4.tcp_ecn=1")]
    [InlineData("sysctl -q net.ipv4.tcp_congestion_control=bbr", "sysctl net.ipv4.tcp_congestion_control=bbr")]
    [InlineData("tc qdisc add dev tun0 root netem loss 100%", "shell command `tc qdisc add dev tun0 root netem loss 100%`")]
    public void UnsupportedCommands_SkipNamingThem(string command, string feature)
    {
        var e = Assert.Throws<ScriptSkipException>(() => ShellCommands.Apply(command, new TcpSettings()));
        Assert.Equal(feature, e.Feature);
    }

    [Theory]
    [InlineData("ip tcp_metrics flush all")]
    [InlineData("tc qdisc add dev tun0 root pfifo")]
    [InlineData("ethtool -K tun0 tso off gso off")]
    [InlineData("/tmp/sysctl_restore_${PPID}.sh")]
    [InlineData("sysctl -q net.ipv4.tcp_ecn=0")]
    public void TestMachineSetUp_IsANoOp(string command) => ShellCommands.Apply(command, new TcpSettings());

    [Fact]
    public void Nstat_PrintsWhatMovedSinceItsLastRun_AndGrepJudgesIt()
    {
        // nstat -n only takes the history; a later nstat shows the increments since, under nstat's names, and makes
        // the current values the history again: a grep for a count that moved by 3 passes once, then fails.
        var counters = new Dictionary<string, long> { ["TcpExtBeyondWindow"] = 2, ["TcpInSegs"] = 10 };
        var nstat = new ShellCommands.ShellTools(new Nstat(() => counters), () => []);
        var settings = new TcpSettings();
        ShellCommands.Apply("nstat -n", settings, nstat);
        counters["TcpExtBeyondWindow"] = 5;
        counters["TcpInSegs"] = 12;

        ShellCommands.Apply("nstat | grep TcpExtBeyondWindow | grep -q \" 3 \"", settings, nstat);
        var e = Assert.Throws<ScriptFailException>(() => ShellCommands.Apply("nstat | grep TcpExtBeyondWindow | grep -q \" 3 \"", settings, nstat));
        Assert.Contains("exited with status 1", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Nstat_AbsoluteZerosPatternsAndNoUpdate()
    {
        var counters = new Dictionary<string, long> { ["TcpExtTCPSACKRecovery"] = 4, ["TcpExtTCPTimeouts"] = 0, ["TcpInSegs"] = 7 };
        var nstat = new ShellCommands.ShellTools(new Nstat(() => counters), () => []);
        var settings = new TcpSettings();
        ShellCommands.Apply("nstat -n", settings, nstat);
        // -a: absolute values whatever the history; -s leaves the history alone, so the increment is still 0 after
        ShellCommands.Apply("nstat -as TcpExtTCPSACK* | grep -q 'TCPSACKRecovery  *4 '", settings, nstat);
        Assert.Throws<ScriptFailException>(() => ShellCommands.Apply("nstat -s | grep -q TCPSACKRecovery", settings, nstat));
        // -z prints counters that did not move; a pattern keeps only the names it matches
        ShellCommands.Apply("nstat -az TcpExtTCPTimeouts | grep -c Tcp | grep -qx 1", settings, nstat);
    }

    [Fact]
    public void Sockstat_ListsTheScriptsTcpSocketsWithFreeBsdStateNames()
    {
        // The FreeBSD suite's check: sockstat -4 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 1.
        var peer = new Wirestack.Simulation.HostHarness();
        var listener = new NetSocket(peer.Stack, SocketType.Stream) { Blocking = false };
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, 8080));
        listener.Listen(1);
        var unbound = new NetSocket(peer.Stack, SocketType.Stream);
        var tools = new ShellCommands.ShellTools(new Nstat(() => new Dictionary<string, long>()), () => [(3, listener), (4, unbound)]);
        var settings = new TcpSettings();

        ShellCommands.Apply("sockstat -4 -P tcp -s | grep packetdril | grep -c LISTEN | grep -qx 1", settings, tools);
        ShellCommands.Apply("sockstat -4l | grep -q ':8080'", settings, tools);
        var e = Assert.Throws<ScriptFailException>(() => ShellCommands.Apply("sockstat -4 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 1", settings, tools));
        Assert.Contains("exited with status 1", e.Detail, StringComparison.Ordinal);
        Assert.Throws<ScriptSkipException>(() => ShellCommands.Apply("sockstat -P udp", settings, tools));
    }

    [Fact]
    public void Nstat_ReadsTheStacksCountersByNstatsNames()
    {
        var snapshot = new SortedDictionary<string, SortedDictionary<string, long>>
        {
            ["Tcp"] = new() { ["InSegs"] = 3 },
            ["TcpExt"] = new() { ["TCPSACKRecovery"] = 1 },
            ["Stack"] = new() { ["BudgetInUse"] = 9 },
        };
        IReadOnlyDictionary<string, long> names = Nstat.Names(snapshot);
        Assert.Equal(3, names["TcpInSegs"]);
        Assert.Equal(1, names["TcpExtTCPSACKRecovery"]);
        Assert.False(names.ContainsKey("StackBudgetInUse")); // not a kernel counter: nstat never shows it
    }

    [Fact]
    public void ExpectedFailures_ParseAndMatchBySuffix()
    {
        ExpectedFailures list = ExpectedFailures.Parse(["# comment", "", "a/b/c.pkt   stack sends X, script expects Y"]);
        Assert.Equal("stack sends X, script expects Y", list.ReasonFor("/work/shared/conformance/packetdrill/a/b/c.pkt"));
        Assert.Null(list.ReasonFor("/x/ab/c.pkt"));
        Assert.Throws<FormatException>(() => ExpectedFailures.Parse(["a.pkt x", "a.pkt y"]));
    }
}
