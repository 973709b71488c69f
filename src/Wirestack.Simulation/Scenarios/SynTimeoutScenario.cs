using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Simulation.Scenarios;

/// <summary>Seed 004 §1.3.2 and §3.4: connect() to a host that never answers. Linux sends the SYN 7 times (1 +
/// tcp_syn_retries 6), the interval doubling from 1 s, and gives up 127 s after the first; FreeBSD adds its 200 ms
/// rexmit_slop to each doubled interval and its keepinit ends the attempt at 75 s.</summary>
public sealed class SynTimeoutScenario : IScenario
{
    public string Name => "syn-timeout";

    public string Description => "connect() to a silent host: SYNs at 0, 1, 3, 7, 15, 31, 63 s, ETIMEDOUT at 127 s (75 s with --profile freebsd)";

    public ScenarioResult Run(ScenarioOptions options)
    {
        var run = new ScenarioRun(this, options);
        NetStack client = run.Host("client");
        NetStack silent = run.Host("silent");
        run.Wire(client, "10.0.0.1/24", silent, "10.0.0.2/24");
        silent.Ip.Routes.Clear(); // it hears everything and can answer nothing: no SYN-ACK, no RST, no ICMP
        run.Note(silent, "has no routes: every SYN reaches it, and nothing it would answer (RST) can leave");

        using var socket = new NetSocket(client, SocketType.Stream);
        TcpConnection connection = socket.Connection!;
        run.Trace(client, "socket", connection);
        var target = IPv4Address.Parse("10.0.0.2");
        run.Note(client, $"connect() to {target}:80, blocking (profile {options.Profile}: tcp_syn_retries {client.Tcp.Settings.SynRetries}" +
            (client.Tcp.Settings.ConnectTimeout is { } cap ? $", keepinit {ScenarioRun.S(cap)} s)" : ")"));
        Instant start = run.Sim.Now;
        SocketError error = socket.Connect(target, 80);
        double took = (run.Sim.Now - start).TotalSeconds;
        string name = $"client {ScenarioRun.Endpoints(connection)}";
        if (error != SocketError.Success)
        {
            run.Error(client, name, error, socket.ErrorCause);
        }

        List<double> syns = SynTimes(connection, start);
        for (int i = 0; i < syns.Count; i++)
        {
            run.Fact($"syn{i + 1}_s", syns[i]);
        }

        run.Fact("syns", syns.Count);
        run.Fact("connect_s", took);
        double expected = run.FreeBsd ? 75 : 127;
        run.Check(error == SocketError.TimedOut, $"connect fails with ETIMEDOUT (got {SocketErrors.ToErrno(error)})");
        run.Check(Math.Abs(took - expected) < 0.001, $"connect gives up after {ScenarioRun.S(expected)} s (took {ScenarioRun.S(took)} s)");
        // FreeBSD adds net.inet.tcp.rexmit_slop (200 ms) to every backed-off RTO (TCPT_RANGESET): 1, 2.2, 4.2, 8.2 s...
        double[] schedule = run.FreeBsd ? [0, 1, 3.2, 7.4, 15.6, 31.8, 64] : [0, 1, 3, 7, 15, 31, 63];
        string listed = string.Join(",", schedule.Select(ScenarioRun.S));
        run.Check(syns.Count == schedule.Length && syns.Zip(schedule).All(p => Math.Abs(p.First - p.Second) < 0.001),
            $"SYNs sent at {listed} s (sent at {string.Join(",", syns.Select(ScenarioRun.S))})");
        run.Check(socket.ErrorCause?.Contains($"7 SYNs sent at {listed} s", StringComparison.Ordinal) == true,
            "the explanation lists the SYNs");

        run.Key(client, "Tcp", "ActiveOpens", "connections this host opened");
        run.Key(client, "Tcp", "AttemptFails", "connection attempts that failed");
        run.Key(client, "TcpExt", "TCPSynRetrans", "SYNs sent again (6 = tcp_syn_retries)");
        run.Key(client, "TcpExt", "TCPTimeouts", "retransmission timer expiries");
        run.Key(client, "TcpExt", "TCPAbortOnTimeout", "connections the retransmission timer gave up on");
        run.Key(silent, "Tcp", "InSegs", "SYNs that reached the silent host");
        run.Key(silent, "Tcp", "OutRsts", "resets it tried to answer with (no listener on port 80)");
        run.Key(silent, "Ip", "OutNoRoutes", "...and dropped before they left: it has no route back");

        run.Summary($"connect() returned {SocketErrors.ToErrno(error)} after {ScenarioRun.S(took)} s of virtual time.");
        run.Summary(run.FreeBsd
            ? $"{syns.Count} SYNs went out at {string.Join(", ", syns.Select(ScenarioRun.S))} s: the RTO doubling from 1 s plus FreeBSD's 200 ms rexmit_slop."
            : $"{syns.Count} SYNs went out at {string.Join(", ", syns.Select(ScenarioRun.S))} s: the first and tcp_syn_retries = {client.Tcp.Settings.SynRetries} retries, the RTO doubling from 1 s.");
        run.Summary(run.FreeBsd
            ? "FreeBSD caps the whole attempt with net.inet.tcp.keepinit (75 s), before the next SYN would be due at 127 s."
            : "After the 7th SYN Linux waits one more doubled RTO (64 s) for an answer: 63 + 64 = 127 s.");
        run.Summary("The silent host saw every SYN (its InSegs) but could answer none (OutNoRoutes): from the client, a dropped SYN and a dead host look the same.");
        return run.Finish();
    }

    /// <summary>When the connection sent its SYNs, from its trace: entering SYN-SENT, then each retransmission.</summary>
    internal static List<double> SynTimes(TcpConnection connection, Instant start) =>
        (connection.Trace ?? [])
            .Where(e => (e.Kind == "state" && e.Detail.EndsWith("SYN-SENT", StringComparison.Ordinal)) ||
                        (e.Kind == "rexmit" && e.Detail.StartsWith("SYN", StringComparison.Ordinal)))
            .Select(e => Math.Round((e.Time - start).TotalSeconds, 6))
            .ToList();
}
