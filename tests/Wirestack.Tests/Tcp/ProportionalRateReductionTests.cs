using Wirestack.Sockets;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>RFC 6937 proportional rate reduction in SACK recovery, as Linux's tcp_cwnd_reduction: while pipe is above
/// ssthresh the sender sends about ssthresh / RecoverFS segments per segment delivered (CUBIC: 0.7), instead of
/// RFC 6675's silence until pipe falls below ssthresh and one per ACK after.</summary>
public sealed class ProportionalRateReductionTests
{
    private const int Mss = 1000;

    /// <summary>20 segments in flight with cwnd 20 (an initial window acknowledged), the first of them lost, and the
    /// peer's three duplicate ACKs SACKing the next three: the first two let a new segment out each (RFC 3042 limited
    /// transmit), the third begins recovery with 22 in flight. Returns the data segments sent at the third.</summary>
    private static (TcpPeer Peer, NetSocket Socket, List<(TcpHeader Header, int PayloadLength, double Time)> AtEntry) EnterRecovery(bool prr)
    {
        (TcpPeer peer, NetSocket socket) = TcpPeer.LinuxSender(Mss, sack: true, tcp => tcp.ProportionalRateReduction = prr);
        Assert.Equal(100_000, socket.Send(new byte[100_000]));
        Assert.Equal(10, DataSegments(peer).Count);
        peer.Harness.Advance(TimeSpan.FromMilliseconds(10));
        peer.Send(TcpFlags.Ack, Data(peer, 10));
        Assert.Equal(20, DataSegments(peer).Count); // segments 10..29 in flight, cwnd 20

        SackUpTo(peer, 12);
        SackUpTo(peer, 13);
        Assert.Equal(2, DataSegments(peer).Count); // limited transmit
        SackUpTo(peer, 14);
        var sent = DataSegments(peer);

        Assert.True(socket.Connection!.InRecovery);
        Assert.Equal(15, socket.Connection.Congestion!.Ssthresh / Mss); // CUBIC: 0.7 × 22 segments in flight
        return (peer, socket, sent);
    }

    /// <summary>A duplicate ACK of segment 10 (lost) SACKing segments 11 .. <paramref name="end"/> - 1.</summary>
    private static void SackUpTo(TcpPeer peer, int end)
    {
        var options = new TcpOptions { SackCount = 1 };
        options.Sacks[0] = new SackBlock(Data(peer, 11), Data(peer, end));
        peer.Send(TcpFlags.Ack, Data(peer, 10), options: options);
    }

    private static SeqNumber Data(TcpPeer peer, int segments) => peer.StackIss + 1 + segments * Mss;

    private static List<(TcpHeader Header, int PayloadLength, double Time)> DataSegments(TcpPeer peer) =>
        peer.Sent().Where(s => s.PayloadLength > 0).ToList();

    /// <summary>New segments sent for each of the next <paramref name="acks"/> duplicate ACKs, each SACKing one more.</summary>
    private static List<int> SentPerAck(TcpPeer peer, int acks)
    {
        var counts = new List<int>();
        for (int i = 0; i < acks; i++)
        {
            SackUpTo(peer, 15 + i);
            counts.Add(DataSegments(peer).Count);
        }

        return counts;
    }

    [Fact]
    [Trait("Rfc", "6937 §3")]
    public void Recovery_starts_with_the_fast_retransmit_and_sends_in_proportion_while_pipe_is_above_ssthresh()
    {
        (TcpPeer peer, NetSocket socket, var atEntry) = EnterRecovery(prr: true);
        Assert.Equal(Data(peer, 10), Assert.Single(atEntry).Header.SequenceNumber); // the fast retransmit

        // pipe 18, 18, 18, 17, 17, always above ssthresh 15: sndcnt = ⌈15 · prr_delivered / 20⌉ - prr_out (RecoverFS = the 20-segment cwnd),
        // prr_delivered 2, 3, 4, 5, 6 against prr_out 1, 2, 3, 3, 4.
        Assert.Equal([1, 1, 0, 1, 1], SentPerAck(peer, 5));
        Assert.Equal(18 * Mss, socket.Connection!.Congestion!.Cwnd); // pipe 17 + sndcnt 1
    }

    [Fact]
    [Trait("Rfc", "6675 §5")]
    public void Without_prr_the_sender_waits_until_pipe_falls_below_ssthresh()
    {
        (TcpPeer peer, _, var atEntry) = EnterRecovery(prr: false);
        Assert.Single(atEntry);

        // cwnd = ssthresh (15.4 segments) at once; pipe, 19 after the fast retransmit, falls by one per ACK.
        Assert.Equal([0, 0, 0, 0, 1], SentPerAck(peer, 5));
    }
}
