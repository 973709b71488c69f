using System.Reflection;
using Wirestack.Buffers;
using Wirestack.Simulation.Fuzzing;
using Wirestack.Sockets;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Wire;
using static Wirestack.Tests.Hostile.HostileInput;

namespace Wirestack.Tests.Hostile;

/// <summary>Floods that try to make the stack spend without bound: SACK storms against a tiny MSS, and
/// out-of-order floods. CPU is bounded by counting work (segments sent per ACK), memory by the budget.</summary>
public sealed class FloodTests
{
    private static readonly FieldInfo s_scoreboard = typeof(TcpConnection).GetField("_sack", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new InvalidOperationException("TcpConnection._sack not found: update this test to the scoreboard's new home");

    private static SackScoreboard Scoreboard(TcpConnection c) => (SackScoreboard)s_scoreboard.GetValue(c)!;

    [Fact]
    [Trait("Rfc", "6675 §5.1")]
    public void SackStorm_TenThousandAcksWithRandomBlocks_AtMss48_StaysBounded()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 48, SackPermitted = true, WindowScale = 7 } };
        NetSocket socket = peer.Establish();
        TcpConnection c = socket.Connection!;
        Assert.Equal(48, c.Mss);
        c.SetBufferSizesUnclamped(4 << 20, 4 << 20);
        c.Congestion!.Cwnd = 2 << 20; // white box: let 1 MB into flight without 20,000 round trips of slow start
        socket.Blocking = false;
        const int megabyte = 1 << 20;
        Assert.Equal(megabyte, socket.Send(new byte[megabyte]));
        int full = megabyte; // the 16-byte tail follows at once: no earlier small segment is unacknowledged (Minshall's Nagle)
        for (int i = 0; i < 200 && c.FlightSize < full; i++)
        {
            peer.Sent();
            peer.Send(TcpFlags.Ack, c.SndUna, window: (ushort)(65535 - i % 2)); // window updates: each lets Output run
        }

        peer.Sent();
        Assert.Equal(full, c.FlightSize);
        long budgetBefore = peer.Stack.Budget.InUse;
        long retransBefore = peer.Stack.Counters.Tcp.RetransSegs;
        int segmentsInFlight = megabyte / 48 + 1;
        var random = new Random(2002);
        long sentDuringStorm = 0;
        int maxSentForOneAck = 0;
        SeqNumber una = c.SndUna;
        for (int i = 0; i < 10_000; i++)
        {
            SeqNumber max = c.SndUna + c.FlightSize;
            var blocks = new (uint, uint)[4];
            for (int b = 0; b < 4; b++)
            {
                SeqNumber left = random.Next(10) switch
                {
                    0 => una - random.Next(1, 100_000),        // below SND.UNA
                    1 => max + random.Next(0, 100_000),        // above SND.MAX
                    _ => una + random.Next(0, c.FlightSize),
                };
                blocks[b] = (left.Value, (left + random.Next(1, 5000)).Value);
            }

            if (i % 100 == 99)
            {
                una += 48 * random.Next(0, 4); // now and then a partial cumulative ACK
            }

            InjectSack(peer, una, blocks);
            int sent = peer.Harness.TakeSent().Count;
            sentDuringStorm += sent;
            maxSentForOneAck = Math.Max(maxSentForOneAck, sent);
            SackScoreboard board = Scoreboard(c);
            Assert.True(board.RangeCount <= board.MaxRanges, $"scoreboard holds {board.RangeCount} ranges");
            Assert.True(peer.Stack.Budget.InUse <= budgetBefore, $"budget grew from {budgetBefore} to {peer.Stack.Budget.InUse} B");
        }

        long retransmitted = peer.Stack.Counters.Tcp.RetransSegs - retransBefore;
        // RFC 6675: without a timeout each segment is retransmitted at most once per recovery, so the whole storm
        // costs at most one transmission per segment in flight (+ one spare), however the SACK blocks
        // lie. One ACK runs at most three output passes (recovery entry, duplicate-ACK processing, the final
        // output), each capped at 256 segments.
        Assert.True(retransmitted <= segmentsInFlight, $"{retransmitted} retransmissions for {segmentsInFlight} segments in flight");
        Assert.True(sentDuringStorm <= segmentsInFlight + 1, $"{sentDuringStorm} segments sent during the storm");
        Assert.True(maxSentForOneAck <= 3 * 256 + 1, $"one ACK set off {maxSentForOneAck} segments");
        Assert.Equal(TcpState.Established, c.State);
    }

    private static void InjectSack(TcpPeer peer, SeqNumber ack, (uint, uint)[] blocks) =>
        Inject(peer, Segment(peer, TcpFlags.Ack, ack: ack, options: TcpOptionBytes.Sack(blocks)));

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void OutOfOrderFlood_HundredThousandOneByteSegments_IsBoundedByTheReceiveBuffer()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1460, SackPermitted = true } };
        NetSocket socket = peer.Establish();
        TcpConnection c = socket.Connection!;
        peer.Sent();
        int limit = Math.Max(c.ReceiveBufferSize / 2, 1);
        int window = Math.Min(limit, 65535);
        SeqNumber start = peer.Nxt;
        var random = new Random(2002);
        long budgetHigh = 0;
        for (int i = 0; i < 100_000; i++)
        {
            int offset = random.Next(1, window); // never offset 0: the hole at RCV.NXT stays open
            peer.Send(TcpFlags.Ack, peer.Rcv, Pattern(offset, 1), seq: start + offset);
            if (i % 1000 == 0)
            {
                peer.Harness.TakeSent();
                Assert.True(c.OutOfOrderBytes <= limit, $"{c.OutOfOrderBytes} B held out of order, limit {limit}");
                budgetHigh = Math.Max(budgetHigh, peer.Stack.Budget.InUseFor(BudgetCause.ReceiveBuffer));
            }
        }

        peer.Harness.TakeSent();
        Assert.True(c.OutOfOrderBytes > 0);
        Assert.True(budgetHigh <= 2L * limit, $"receive buffers charged {budgetHigh} B for a {limit} B buffer");
        Assert.Equal(start, c.RcvNxt);

        // Fill the window in order: what was kept out of order must be exactly the bytes sent there.
        socket.Blocking = false;
        var received = new MemoryStream();
        byte[] buffer = new byte[65536];
        for (int offset = 0; offset < window; offset += 1000)
        {
            int length = Math.Min(1000, window - offset);
            peer.Send(TcpFlags.Ack, peer.Rcv, Pattern(offset, length), seq: start + offset);
            int n;
            while ((n = socket.Receive(buffer, out _)) > 0)
            {
                received.Write(buffer, 0, n);
            }
        }

        Assert.Equal(Pattern(0, window), received.ToArray());
        Assert.Equal(0, c.OutOfOrderBytes);
        Assert.Equal(0, peer.Stack.Budget.InUseFor(BudgetCause.ReceiveBuffer));
    }
}
