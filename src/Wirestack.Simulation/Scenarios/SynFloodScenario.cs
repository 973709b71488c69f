using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Buffers;
using Wirestack.Links;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Wire;
using TcpListener = Wirestack.Tcp.TcpListener;

namespace Wirestack.Simulation.Scenarios;

/// <summary>Seed 004 §4.4: a SYN flood. Mallory sends SYNs with forged source addresses, which fill the server's SYN
/// queue with connections that will never complete; from then on the server answers every SYN with a SYN cookie
/// (RFC 4987 §3.6) and keeps no state. Legitimate clients still connect (their ACK carries the cookie back), and an
/// established transfer keeps going.</summary>
public sealed class SynFloodScenario : IScenario
{
    public const int Backlog = 128;
    public const int FloodSynsPerSecond = 1000;
    public static readonly TimeSpan FloodStart = TimeSpan.FromMilliseconds(200);
    public static readonly TimeSpan FloodLength = TimeSpan.FromSeconds(2);
    public const int LegitClients = 10;
    public const int TransferBytes = 2 * 1024 * 1024;

    public string Name => "syn-flood";

    public string Description => $"{FloodSynsPerSecond} spoofed SYNs a second for {ScenarioRun.S(FloodLength)} s: the SYN queue fills, SYN cookies take over, legitimate clients still connect and a transfer keeps going";

    public ScenarioResult Run(ScenarioOptions options)
    {
        var run = new ScenarioRun(this, options);
        NetStack client = run.Host("client");
        NetStack server = run.Host("server");
        NetStack mallory = run.Host("mallory");
        run.Wire(client, "10.0.0.1/24", server, "10.0.0.2/24",
            new LinkImpairments { Delay = TimeSpan.FromMilliseconds(5), RateBitsPerSecond = 10_000_000 });
        SimulatedWire floodWire = run.Wire(mallory, "10.0.2.66/24", server, "10.0.2.2/24", rxRing: 1024);
        // The server's default route points at mallory's link: the SYN-ACKs to the forged addresses go out there and die.
        server.AddRoute(IPv4Cidr.Parse("0.0.0.0/0"), new IPv4Address(10, 0, 2, 66), 1);

        using var listener = new NetSocket(server, SocketType.Stream) { Blocking = false };
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(Backlog);
        var accepted = new List<(NetSocket Socket, SocketDrain Drain)>();
        listener.ReadinessChanged += _ => run.Sim.Post(() =>
        {
            while (listener.Accept(out SocketError _) is { } s)
            {
                accepted.Add((s, new SocketDrain(run.Sim, s)));
            }
        });
        run.Note(server, $"listens on port 80 (backlog {Backlog}: its SYN queue holds {Backlog} half-open connections; tcp_syncookies = 1)");

        // An established transfer, going on through the flood (the wire to the client runs at 10 Mbit/s).
        var transfer = new NetSocket(client, SocketType.Stream) { Blocking = false };
        transfer.Connect(new IPv4Address(10, 0, 0, 2), 80);
        run.RunUntil(() => transfer.Connected, TimeSpan.FromSeconds(1));
        byte[] data = new byte[TransferBytes];
        new Random(options.Seed).NextBytes(data);
        int offset = 0;
        run.Note(client, $"an upload of {TransferBytes / (1024 * 1024)} MiB starts ({ScenarioRun.Endpoints(transfer.Connection!)}, 10 Mbit/s: about 1.8 s)");

        // The flood: forged SYNs put straight onto mallory's wire, bypassing mallory's own stack.
        var random = new Random(options.Seed * 31 + 7);
        var pool = new PacketBufferPool(new MemoryBudget(1 << 20));
        int flooded = 0;
        int total = (int)(FloodSynsPerSecond * FloodLength.TotalSeconds);
        ITimer? floodTimer = null;
        floodTimer = run.Sim.Clock.CreateTimer(_ => run.Sim.Post(() =>
        {
            if (flooded >= total)
            {
                floodTimer?.Dispose();
                return;
            }

            InjectSyn(floodWire.A, pool, random, run.Sim.Now);
            flooded++;
        }), null, FloodStart, TimeSpan.FromSeconds(1.0 / FloodSynsPerSecond));

        // Legitimate clients connect during the flood.
        var legit = new List<(NetSocket Socket, Instant Started, double? ConnectedAfter)>();
        for (int i = 0; i < LegitClients; i++)
        {
            TimeSpan at = FloodStart + TimeSpan.FromMilliseconds(300 + 150 * i);
            int index = i;
            run.After(at - (run.Sim.Now - Instant.Zero), () =>
            {
                var s = new NetSocket(client, SocketType.Stream) { Blocking = false };
                s.Connect(new IPv4Address(10, 0, 0, 2), 80);
                legit.Add((s, run.Sim.Now, null));
            });
        }

        bool queueFullNoted = false, floodEndNoted = false;
        double queueFullAfter = 0;
        long lastSecondNote = 0;
        Instant uploadStart = run.Sim.Now;
        double? uploadDone = null;
        var end = FloodStart + FloodLength + TimeSpan.FromSeconds(1);
        run.RunUntil(() =>
        {
            if (offset < data.Length)
            {
                int n = transfer.Send(data.AsSpan(offset), out SocketError e);
                if (e == SocketError.Success)
                {
                    offset += n;
                    if (offset == data.Length)
                    {
                        transfer.Shutdown(SocketShutdown.Send);
                    }
                }
            }

            var server0 = accepted.Count > 0 ? accepted[0].Drain : null;
            if (uploadDone is null && server0 is { Finished: true })
            {
                uploadDone = (run.Sim.Now - uploadStart).TotalSeconds;
                bool ok = server0.BytesReceived == data.Length && server0.Digest.AsSpan().SequenceEqual(SHA256.HashData(data));
                run.Note(server, $"the upload is complete: {server0.BytesReceived} bytes in {ScenarioRun.S(uploadDone.Value)} s, SHA-256 {(ok ? "matches" : "DIFFERS")}");
                run.Fact("upload_ok", ok ? 1 : 0);
            }

            TcpListener l = listener.Listener!;
            if (!queueFullNoted && l.SynQueueLength >= Backlog)
            {
                queueFullNoted = true;
                queueFullAfter = (run.Sim.Now - Instant.Zero - FloodStart).TotalSeconds;
                run.Note(server, $"SYN queue full ({l.SynQueueLength}/{Backlog}) after {flooded} forged SYNs: from now on every SYN gets a cookie");
            }

            for (int i = 0; i < legit.Count; i++)
            {
                if (legit[i].ConnectedAfter is null && legit[i].Socket.Connected)
                {
                    double after = (run.Sim.Now - legit[i].Started).TotalSeconds;
                    legit[i] = legit[i] with { ConnectedAfter = after };
                    run.Note(client, $"legitimate client {i + 1} connected in {ScenarioRun.S(after * 1000)} ms (while {flooded} forged SYNs have arrived)");
                }
            }

            long step = (run.Sim.Now.Microseconds - (long)FloodStart.TotalMicroseconds) / 500_000;
            if (flooded > 0 && flooded < total && step > lastSecondNote)
            {
                lastSecondNote = step;
                run.Note(server, $"flood: {flooded} forged SYNs so far; SYN queue {l.SynQueueLength}/{Backlog}; cookies sent {server.Counters.Tcp.SyncookiesSent}; " +
                    $"upload {(accepted.Count > 0 ? accepted[0].Drain.BytesReceived / 1024 : 0)} KiB received");
            }

            if (flooded == total && !floodEndNoted)
            {
                floodEndNoted = true;
                run.Note("mallory", $"stops after {flooded} forged SYNs");
            }

            return run.Sim.Now - Instant.Zero >= end && uploadDone is not null;
        }, TimeSpan.FromSeconds(30));

        run.Sockets(server, "the server after the flood (ss -tan): the SYN queue full of connections that will never complete",
            r => r.State is "LISTEN" or "SYN-RECV", max: 5);
        int connected = legit.Count(c => c.ConnectedAfter is not null);
        run.Fact("forged_syns", flooded);
        run.Fact("legit_connected", connected);
        run.Fact("legit_max_connect_ms", legit.Select(c => (c.ConnectedAfter ?? 0) * 1000).DefaultIfEmpty(0).Max());
        run.Fact("upload_s", uploadDone ?? -1);
        long cookiesSent = server.Counters.Tcp.SyncookiesSent, cookiesRecv = server.Counters.Tcp.SyncookiesRecv;
        run.Check(flooded == total, $"{total} forged SYNs were sent ({flooded})");
        run.Check(queueFullNoted, "the forged SYNs filled the SYN queue");
        run.Check(connected == LegitClients, $"every legitimate client connected during the flood ({connected} of {LegitClients})");
        run.Check(cookiesRecv >= LegitClients, $"they did so with SYN cookies (SyncookiesRecv {cookiesRecv})");
        run.Check(cookiesSent >= flooded - Backlog, $"the server answered the flood statelessly (SyncookiesSent {cookiesSent})");
        run.Check(uploadDone is not null && run.Result("upload_ok") == 1, "the established upload kept going and arrived intact");
        run.Check(listener.Listener!.SynQueueLength <= Backlog, "the SYN queue never grew past its bound");

        floodTimer.Dispose();
        foreach (var c in legit)
        {
            c.Socket.Dispose();
        }

        foreach (var a in accepted)
        {
            a.Drain.Dispose();
            a.Socket.Dispose();
        }

        transfer.Dispose();
        run.Key(server, "TcpExt", "TCPReqQFullDoCookies", "SYNs answered with a cookie because the SYN queue was full");
        run.Key(server, "TcpExt", "SyncookiesSent", "SYN cookies sent");
        run.Key(server, "TcpExt", "SyncookiesRecv", "valid cookies that came back: the legitimate clients");
        run.Key(server, "TcpExt", "SyncookiesFailed", "ACKs with a bad cookie");
        run.Key(server, "Tcp", "PassiveOpens", "connections opened by a SYN (the forged ones included)");
        run.Key(server, "Tcp", "RetransSegs", "SYN-ACKs sent again to forged addresses that never answer");
        run.Key(mallory, "Ip", "InAddrErrors", "SYN-ACKs to forged addresses that died on mallory's link");
        run.Summary($"{flooded} SYNs from forged addresses filled the server's SYN queue ({Backlog}) within {ScenarioRun.S(queueFullAfter * 1000)} ms; each of those half-open");
        run.Summary("connections retransmits its SYN-ACK to nowhere for a minute. Once the queue was full, the server answered every SYN");
        run.Summary($"with a SYN cookie and kept no state ({cookiesSent} sent), so the {connected} legitimate clients connected anyway (cookies recv {cookiesRecv})");
        run.Summary($"(in ~50 ms rather than 10: they queue behind the upload on the 10 Mbit/s link), and the upload that was already running finished");
        run.Summary($"in {ScenarioRun.S(uploadDone ?? 0)} s, intact. The price: a cookie connection loses its SYN options (window scale, SACK, timestamps).");
        return run.Finish();
    }

    /// <summary>A SYN from a forged address (192.0.2.0/24, 198.51.100.0/24 or 203.0.113.0/24) and port, to the server.</summary>
    private static void InjectSyn(SimulatedPort port, PacketBufferPool pool, Random random, Instant now)
    {
        int net = random.Next(3);
        var source = net switch
        {
            0 => new IPv4Address(192, 0, 2, (byte)random.Next(1, 255)),
            1 => new IPv4Address(198, 51, 100, (byte)random.Next(1, 255)),
            _ => new IPv4Address(203, 0, 113, (byte)random.Next(1, 255)),
        };
        var header = new TcpHeader
        {
            SourcePort = (ushort)random.Next(1024, 65536),
            DestinationPort = 80,
            SequenceNumber = new SeqNumber((uint)random.NextInt64(0, uint.MaxValue)),
            Flags = TcpFlags.Syn,
            Window = 64240,
            Options = new TcpOptions { Mss = 1460 },
        };
        byte[] datagram = SegmentBuilder.Tcp(source, new IPv4Address(10, 0, 2, 2), header, id: (ushort)random.Next(65536));
        if (pool.TryRent(datagram.Length, BudgetCause.PacketTx, out PacketBuffer? packet))
        {
            datagram.CopyTo(packet.Append(datagram.Length));
            port.Transmit(packet, now);
        }
    }
}
