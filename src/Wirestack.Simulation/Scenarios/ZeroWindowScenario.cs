using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Simulation.Scenarios;

/// <summary>"When TCP sockets refuse to die" (seed 004 §4.6): a peer that never reads and so never opens its
/// window. The sender probes the zero window with backoff; the peer answers every probe (it is alive), so without a
/// limit the connection would live forever. TCP_USER_TIMEOUT ends it with ETIMEDOUT.</summary>
public sealed class ZeroWindowScenario : IScenario
{
    public static readonly TimeSpan UserTimeout = TimeSpan.FromSeconds(60);
    /// <summary>The server's receive buffer: half of it (the window) is six full segments and the server does not scale
    /// its window, so the window closes to exactly zero (a window left smaller than a segment would stall the sender,
    /// and a scaled SYN-ACK window would overrun it: see StackBugReproTests).</summary>
    public const int ReceiveBuffer = 2 * 6 * 1448;

    public string Name => "zero-window";

    public string Description => $"a peer that never reads: zero-window probes back off, the peer answers each, TCP_USER_TIMEOUT ({ScenarioRun.S(UserTimeout)} s) ends it with ETIMEDOUT";

    public ScenarioResult Run(ScenarioOptions options)
    {
        var run = new ScenarioRun(this, options);
        NetStack client = run.Host("client");
        NetStack server = run.Host("server", o =>
        {
            o.Tcp.ReceiveBufferDefault = ReceiveBuffer;
            o.Tcp.WindowScaling = false;
        });
        var wire = run.Wire(client, "10.0.0.1/24", server, "10.0.0.2/24");
        var probes = new List<double>();
        bool zeroSeen = false;
        run.WatchTcp(wire, p =>
        {
            if (p.Source == new IPv4Address(10, 0, 0, 1) && p.PayloadLength == 0 && p.Tcp.Flags == TcpFlags.Ack && probes.Count >= 0 &&
                IsProbe(client, p))
            {
                probes.Add(ScenarioRun.Seconds(run.Sim.Now));
                return probes.Count <= 12 ? $"receives zero-window probe #{probes.Count}" : null;
            }

            if (p.Source == new IPv4Address(10, 0, 0, 2) && p.Tcp.Window == 0 && !zeroSeen)
            {
                zeroSeen = true;
                return "receives an ACK with window 0: the server's receive buffer is full";
            }

            return null;
        });

        using var listener = new NetSocket(server, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(8);
        using var socket = new NetSocket(client, SocketType.Stream);
        socket.Connect(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 80));
        using NetSocket peer = listener.Accept();
        TcpConnection connection = socket.Connection!;
        connection.UserTimeout = UserTimeout;
        connection.SetSendBufferSize(256 * 1024);
        run.Trace(client, "client", connection, e => e.Kind is "state" or "window" or "timeout" or "recovery");
        run.Note(server, $"accepts, and never reads (receive buffer {ReceiveBuffer} bytes)");
        run.Note(client, $"sets TCP_USER_TIMEOUT {ScenarioRun.S(UserTimeout)} s and writes 128 KiB, non-blocking");
        socket.Blocking = false;
        int queued = socket.Send(new byte[128 * 1024], out SocketError sendError);
        run.Note(client, $"send() = {queued} ({SocketErrors.ToErrno(sendError)}): queued; the window lets {ReceiveBuffer / 2} bytes through");
        Instant start = run.Sim.Now;
        run.RunFor(TimeSpan.FromSeconds(5));
        run.Sockets(client, "the client after 5 s (ss -tno): data queued, the persist timer running", tcp: true);
        run.Sockets(server, "the server: its Recv-Q full, nobody reading");
        bool ended = run.RunUntil(() => connection.State == TcpState.Closed, TimeSpan.FromSeconds(600));
        double took = (run.Sim.Now - start).TotalSeconds;
        socket.Send(new byte[1], out SocketError after);
        run.Error(client, $"client {ScenarioRun.Endpoints(connection)} send()", after, socket.ErrorCause);

        var gaps = probes.Zip(probes.Skip(1), (a, b) => Math.Round(b - a, 3)).ToList();
        run.Note(client, $"{probes.Count} probes in all; the gaps between them: {string.Join(", ", gaps.Take(12).Select(ScenarioRun.S))}{(gaps.Count > 12 ? ", ..." : "")} s");
        run.Fact("probes", probes.Count);
        run.Fact("ended_after_s", took);
        for (int i = 0; i < Math.Min(8, probes.Count); i++)
        {
            run.Fact($"probe{i + 1}_s", probes[i]);
        }

        run.Check(ended && after == SocketError.TimedOut, $"the connection ends with ETIMEDOUT ({SocketErrors.ToErrno(after)})");
        run.Check(took >= UserTimeout.TotalSeconds && took < UserTimeout.TotalSeconds + 60,
            $"...after TCP_USER_TIMEOUT, not later than one probe interval past it ({ScenarioRun.S(took)} s)");
        run.Check(socket.ErrorCause?.Contains("window at zero", StringComparison.Ordinal) == true, "the explanation says the peer kept its window at zero");
        run.Check(gaps.Count >= 3 && gaps[2] > gaps[0] && gaps[1] > gaps[0], $"the probes back off: gaps {string.Join(", ", gaps.Take(5).Select(ScenarioRun.S))} s grow");
        run.Key(client, "TcpExt", "TCPWinProbe", "zero-window probes sent");
        run.Key(client, "TcpExt", "TCPAbortOnTimeout", "connections ended by a timeout (here TCP_USER_TIMEOUT)");
        run.Key(server, "TcpExt", "TCPToZeroWindowAdv", "times the server's window closed to zero");
        run.Key(server, "TcpExt", "TCPZeroWindowDrop", "segments dropped because the window was zero");
        run.Summary($"The server never read, its window closed, and the client probed it {probes.Count} times; each probe was answered, so the");
        run.Summary("connection was alive by every other measure (tcp_retries2 never runs out while probes are answered).");
        run.Summary($"Only TCP_USER_TIMEOUT ended it: ETIMEDOUT {ScenarioRun.S(took)} s after the window closed (Cloudflare's \"sockets that refuse to die\").");
        peer.Dispose();
        return run.Finish();
    }

    /// <summary>A window probe: a bare ACK whose sequence number is one below what the sender has acknowledged.</summary>
    private static bool IsProbe(NetStack client, TcpPacket p)
    {
        foreach (TcpConnection c in client.Tcp.Connections)
        {
            if (c.Tuple.LocalPort == p.Tcp.SourcePort)
            {
                return p.Tcp.SequenceNumber == c.SndUna - 1;
            }
        }

        return false;
    }
}
