using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>
/// Undoing a recovery that reordering set off (Linux tcp_try_undo_recovery and tcp_try_undo_dsack; RFC 3522 Eifel
/// detection, RFC 3708 D-SACK detection, RFC 9438 §4.9): segment 10 of 20 in flight arrives late, three duplicate
/// ACKs start a recovery that halves the window, and then the evidence arrives that nothing was lost. The window
/// comes back; with real loss it does not.
/// </summary>
public sealed class RecoveryUndoTests
{
    private const int Mss = 1000;

    /// <summary>Segments 10..29 in flight with cwnd 20; three duplicate ACKs SACKing 11..13 start recovery and the
    /// fast retransmit of segment 10, <paramref name="gap"/> after the originals left.</summary>
    private static (TcpPeer Peer, NetSocket Socket, int PriorCwnd, uint OriginalTsVal, uint RetransmissionTsVal) EnterRecovery(bool timestamps, TimeSpan gap)
    {
        NetStackOptions options = NetStackOptions.ForProfile("linux");
        var peer = new TcpPeer(options)
        {
            SynOptions = new TcpOptions { Mss = Mss, SackPermitted = true, HasTimestamp = timestamps, TsVal = timestamps ? 1u : 0 },
        };
        NetSocket socket = peer.Establish();
        socket.Blocking = false;
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.SendBuffer, 400_000);
        Assert.Equal(100_000, socket.Send(new byte[100_000]));
        Assert.Equal(10, DataSegments(peer).Count);
        peer.Harness.Advance(TimeSpan.FromMilliseconds(10));
        peer.Send(TcpFlags.Ack, Data(peer, 10), options: Echo(timestamps, 0));
        var burst = DataSegments(peer);
        Assert.Equal(20, burst.Count); // segments 10..29
        uint originalTsVal = burst[0].Header.Options.TsVal;
        int priorCwnd = socket.Connection!.Congestion!.Cwnd;

        peer.Harness.Advance(gap);
        for (int end = 12; end <= 14; end++)
        {
            var sack = Echo(timestamps, originalTsVal);
            sack.SackCount = 1;
            sack.Sacks[0] = new SackBlock(Data(peer, 11), Data(peer, end));
            peer.Send(TcpFlags.Ack, Data(peer, 10), options: sack);
        }

        Assert.True(socket.Connection.InRecovery);
        Assert.True(socket.Connection.Congestion.Cwnd < priorCwnd);
        var retransmission = DataSegments(peer).First(s => s.Header.SequenceNumber == Data(peer, 10)); // the fast retransmit
        return (peer, socket, priorCwnd, originalTsVal, retransmission.Header.Options.TsVal);
    }

    private static TcpOptions Echo(bool timestamps, uint tsEcr) => timestamps ? new TcpOptions { HasTimestamp = true, TsVal = 500, TsEcr = tsEcr } : default;

    private static SeqNumber Data(TcpPeer peer, int segments) => peer.StackIss + 1 + segments * Mss;

    private static List<(TcpHeader Header, int PayloadLength, double Time)> DataSegments(TcpPeer peer) =>
        peer.Sent().Where(s => s.PayloadLength > 0).ToList();

    [Fact]
    [Trait("Rfc", "3522 §3.2")]
    public void An_ack_echoing_the_original_transmission_shows_the_recovery_spurious_and_restores_the_window()
    {
        // The late original of segment 10 arrives: the receiver acknowledges everything, echoing the original's
        // timestamp, older than the retransmission's.
        (TcpPeer peer, NetSocket socket, int priorCwnd, uint originalTsVal, uint retransmissionTsVal) = EnterRecovery(timestamps: true, TimeSpan.FromMilliseconds(5));
        Assert.True(retransmissionTsVal > originalTsVal);
        long undoBefore = peer.Stack.Counters.Tcp.TCPFullUndo;

        peer.Send(TcpFlags.Ack, socket.Connection!.SndNxt, options: Echo(true, originalTsVal));

        Assert.False(socket.Connection.InRecovery);
        Assert.Equal(undoBefore + 1, peer.Stack.Counters.Tcp.TCPFullUndo);
        Assert.True(socket.Connection.Congestion!.Cwnd >= priorCwnd, $"cwnd {socket.Connection.Congestion.Cwnd}, {priorCwnd} before the recovery");
    }

    [Fact]
    [Trait("Rfc", "3708 §3")]
    public void A_dsack_for_every_retransmission_after_the_recovery_restores_the_window()
    {
        // Without timestamps: the full ACK ends the recovery, reduced; then the receiver reports the retransmitted
        // segment 10 received twice (RFC 2883 D-SACK: a block below the cumulative ACK).
        (TcpPeer peer, NetSocket socket, int priorCwnd, _, _) = EnterRecovery(timestamps: false, TimeSpan.FromMilliseconds(5));
        SeqNumber all = socket.Connection!.SndNxt;
        peer.Send(TcpFlags.Ack, all);
        Assert.False(socket.Connection.InRecovery);
        int reduced = socket.Connection.Congestion!.Cwnd;
        Assert.True(reduced < priorCwnd);

        var dsack = new TcpOptions { SackCount = 1 };
        dsack.Sacks[0] = new SackBlock(Data(peer, 10), Data(peer, 11));
        peer.Send(TcpFlags.Ack, all, options: dsack);

        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPDSACKRecv);
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPDSACKUndo);
        Assert.True(socket.Connection.Congestion.Cwnd >= priorCwnd, $"cwnd {socket.Connection.Congestion.Cwnd}, {priorCwnd} before the recovery");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_real_loss_keeps_the_reduction(bool timestamps)
    {
        // The retransmission is what arrives: the full ACK echoes its timestamp (or, without timestamps, no D-SACK
        // follows), so the window stays reduced.
        (TcpPeer peer, NetSocket socket, int priorCwnd, _, uint retransmissionTsVal) = EnterRecovery(timestamps, TimeSpan.FromMilliseconds(5));
        peer.Harness.Advance(TimeSpan.FromMilliseconds(10));
        peer.Send(TcpFlags.Ack, socket.Connection!.SndNxt, options: Echo(timestamps, retransmissionTsVal));
        peer.Send(TcpFlags.Ack, socket.Connection.SndNxt, options: Echo(timestamps, retransmissionTsVal));

        Assert.False(socket.Connection.InRecovery);
        Assert.Equal(0, peer.Stack.Counters.Tcp.TCPFullUndo + peer.Stack.Counters.Tcp.TCPDSACKUndo);
        Assert.True(socket.Connection.Congestion!.Cwnd < priorCwnd);
    }
}
