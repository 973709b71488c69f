using System.Buffers.Binary;
using System.Net.Sockets;
using Wirestack.Links;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Wire;

namespace Wirestack.Simulation.Scenarios;

/// <summary>Seed 004 §3.2: "X UDP packet receive errors". A sender outpaces a slow reader; datagrams that find the
/// socket's receive buffer full are dropped and counted as RcvbufErrors. The wire also corrupts a few, which fail
/// their checksum and are counted as InCsumErrors. InErrors holds both: InErrors - RcvbufErrors = the corrupted.</summary>
public sealed class UdpRcvbufScenario : IScenario
{
    public const int Datagrams = 400;
    public const int PayloadBytes = 1000;
    public const int ReceiveBuffer = 16384;
    public const double Corruption = 0.03;

    public string Name => "udp-rcvbuf";

    public string Description => "a slow UDP reader: datagrams beyond its receive buffer are dropped (RcvbufErrors); corrupted ones fail the checksum (InCsumErrors)";

    public ScenarioResult Run(ScenarioOptions options)
    {
        var run = new ScenarioRun(this, options);
        NetStack sender = run.Host("sender");
        NetStack reader = run.Host("reader");
        SimulatedWire wire = run.Wire(sender, "10.0.0.1/24", reader, "10.0.0.2/24",
            new LinkImpairments { Delay = TimeSpan.FromMilliseconds(5), Corrupt = Corruption },
            new LinkImpairments { Delay = TimeSpan.FromMilliseconds(5) });
        var readerAddress = IPv4Address.Parse("10.0.0.2");

        using var socket = new NetSocket(reader, SocketType.Dgram) { Blocking = false };
        socket.Bind(IPv4Address.Any, 5000);
        lock (reader.SyncRoot)
        {
            socket.Udp!.ReceiveBufferSize = ReceiveBuffer;
        }

        using var source = new NetSocket(sender, SocketType.Dgram);
        run.Note(reader, $"binds UDP port 5000 with SO_RCVBUF {ReceiveBuffer} bytes (each {PayloadBytes}-byte datagram is charged {PayloadBytes + Udp.UdpEndpoint.PerDatagramOverhead} with its overhead: {ReceiveBuffer / (PayloadBytes + Udp.UdpEndpoint.PerDatagramOverhead)} fit)");
        run.Note(sender, $"sends {Datagrams} datagrams of {PayloadBytes} bytes, one a millisecond; the wire corrupts {Corruption * 100:0}% of them");
        run.Note(reader, "reads one datagram every 5 ms: a fifth of the rate they come in");

        byte[] payload = new byte[PayloadBytes];
        byte[] buffer = new byte[2048];
        var seen = new HashSet<int>();
        int received = 0, intact = 0, sent = 0, peakQueue = 0;
        bool tableTaken = false;
        long lastRcvbuf = 0, lastCsum = 0;
        for (int ms = 0; sent < Datagrams || ms % 5 != 0 || Pending(socket); ms++)
        {
            if (sent < Datagrams)
            {
                Fill(payload, sent);
                SocketError e = source.SendTo(payload, readerAddress, 5000);
                if (e == SocketError.Success)
                {
                    sent++;
                }
            }

            if (ms % 5 == 0 && TryRead(socket, buffer, out int n))
            {
                received++;
                int number = BinaryPrimitives.ReadInt32BigEndian(buffer);
                Fill(payload, number);
                if (n == PayloadBytes && buffer.AsSpan(0, n).SequenceEqual(payload) && seen.Add(number))
                {
                    intact++;
                }
            }

            peakQueue = Math.Max(peakQueue, socket.Udp!.ReceiveQueued);
            long rcvbuf = reader.Counters.Udp.RcvbufErrors, csum = reader.Counters.Udp.InCsumErrors + reader.Counters.Ip.InHdrErrors;
            if (rcvbuf > 0 && lastRcvbuf == 0)
            {
                run.Note(reader, $"first datagram dropped: the receive buffer is full (Recv-Q {socket.Udp.ReceiveQueued} of {ReceiveBuffer}); RcvbufErrors counts it");
            }

            if (csum > lastCsum)
            {
                run.Note(reader, $"a corrupted datagram fails its checksum and is dropped ({csum} so far)");
            }

            if (ms > 0 && ms % 100 == 0)
            {
                run.Note(reader, $"sent {sent}, read {received}, dropped {rcvbuf} for a full buffer and {csum} corrupted; Recv-Q {socket.Udp.ReceiveQueued} bytes");
            }

            lastRcvbuf = rcvbuf;
            lastCsum = csum;
            if (!tableTaken && ms == 200)
            {
                tableTaken = true;
                run.Sockets(reader, "the reader at 200 ms (ss -uan): Recv-Q full, drops counting", tcp: false, udp: true);
            }

            run.RunFor(TimeSpan.FromMilliseconds(1));
        }

        run.Note(reader, $"has read everything that was kept: {received} datagrams, {intact} intact and distinct");
        var udp = reader.Counters.Udp;
        var ip = reader.Counters.Ip;
        long corrupted = wire.CountersAToB.Corrupted;
        long drops = socket.Udp!.Drops;
        run.Fact("sent", sent);
        run.Fact("received", received);
        run.Fact("rcvbuf_errors", udp.RcvbufErrors);
        run.Fact("udp_csum_errors", udp.InCsumErrors);
        run.Fact("ip_header_errors", ip.InHdrErrors);
        run.Fact("wire_corrupted", corrupted);
        run.Fact("peak_recv_q", peakQueue);
        run.Check(received == intact, "every datagram read is intact (corruption never reaches the application)");
        run.Check(udp.RcvbufErrors > 0, $"the full receive buffer dropped datagrams (RcvbufErrors {udp.RcvbufErrors})");
        run.Check(drops == udp.RcvbufErrors, "the socket's own drop count (ss, /proc/net/udp) matches RcvbufErrors");
        run.Check(udp.InCsumErrors > 0, $"corrupted datagrams failed the UDP checksum (InCsumErrors {udp.InCsumErrors})");
        run.Check(udp.InErrors - udp.RcvbufErrors == udp.InCsumErrors, "InErrors - RcvbufErrors = InCsumErrors (seed 004 §3.2)");
        run.Check(corrupted == udp.InCsumErrors + ip.InHdrErrors,
            $"every corrupted datagram is counted: {corrupted} corrupted = {udp.InCsumErrors} UDP checksum + {ip.InHdrErrors} IP header");
        run.Check(sent == received + udp.RcvbufErrors + udp.InCsumErrors + ip.InHdrErrors,
            $"every datagram is accounted for: {sent} sent = {received} read + {udp.RcvbufErrors} buffer full + {udp.InCsumErrors + ip.InHdrErrors} corrupted");
        run.Check(peakQueue <= ReceiveBuffer, $"Recv-Q never exceeds SO_RCVBUF (peak {peakQueue})");

        run.Key(reader, "Udp", "InDatagrams", "datagrams delivered to the socket");
        run.Key(reader, "Udp", "InErrors", "datagrams dropped on receive, all reasons");
        run.Key(reader, "Udp", "RcvbufErrors", "...because the socket's receive buffer was full");
        run.Key(reader, "Udp", "InCsumErrors", "...because the UDP checksum failed (corrupted)");
        run.Key(reader, "Ip", "InHdrErrors", "corrupted in the IP header: dropped before UDP saw them");
        run.Summary($"{sent} datagrams sent; {received} read, all intact; {udp.RcvbufErrors} dropped because the reader's buffer was full; {udp.InCsumErrors + ip.InHdrErrors} dropped as corrupted.");
        run.Summary("netstat -su would say 'packet receive errors' for both kinds. To tell them apart: RcvbufErrors is the slow reader");
        run.Summary("(read faster or raise SO_RCVBUF), InCsumErrors is the network (InErrors - RcvbufErrors, seed 004 §3.2).");
        return run.Finish();
    }

    private static bool Pending(NetSocket socket) => socket.Udp!.QueuedDatagrams > 0;

    private static bool TryRead(NetSocket socket, byte[] buffer, out int n)
    {
        n = socket.ReceiveFrom(buffer, out _, out _, out SocketError error);
        return error == SocketError.Success;
    }

    /// <summary>Datagram <paramref name="number"/>: its number, then bytes derived from it.</summary>
    private static void Fill(byte[] payload, int number)
    {
        BinaryPrimitives.WriteInt32BigEndian(payload, number);
        for (int i = 4; i < payload.Length; i++)
        {
            payload[i] = (byte)(number * 31 + i);
        }
    }
}
