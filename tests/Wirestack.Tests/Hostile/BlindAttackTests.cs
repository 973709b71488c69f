using Wirestack.Simulation.Fuzzing;
using Wirestack.Sockets;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Wire;
using static Wirestack.Tests.Hostile.HostileInput;

namespace Wirestack.Tests.Hostile;

/// <summary>Blind in-window attacks (RFC 5961), acknowledgments of data never sent, PAWS (RFC 7323 §5) and
/// TIME-WAIT assassination (RFC 1337): what is sent back, which counter moves, the state after.</summary>
public sealed class BlindAttackTests
{
    private static (TcpPeer Peer, NetSocket Socket) Established(TcpOptions? synOptions = null)
    {
        var peer = new TcpPeer();
        if (synOptions is { } o)
        {
            peer.SynOptions = o;
        }

        NetSocket socket = peer.Establish();
        peer.Sent();
        return (peer, socket);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(-70_000)]
    [InlineData(10_000_000)]
    [InlineData(int.MinValue + 1)]
    [Trait("Rfc", "5961 §3.2")]
    public void Rst_OutsideTheWindow_IsDroppedSilently(int offset)
    {
        var (peer, socket) = Established();

        Inject(peer, Segment(peer, TcpFlags.Rst, seq: peer.Nxt + offset, ack: default));
        Inject(peer, Segment(peer, TcpFlags.Rst | TcpFlags.Ack, seq: peer.Nxt + offset));

        Assert.Equal(TcpState.Established, socket.Connection!.State);
        peer.ExpectNothing();
        Assert.Equal(0, peer.Stack.Counters.Tcp.EstabResets);
    }

    [Fact]
    [Trait("Rfc", "5961 §3.2")]
    public void Rst_InTheWindowButNotExact_GetsAChallengeAck()
    {
        var (peer, socket) = Established();

        Inject(peer, Segment(peer, TcpFlags.Rst | TcpFlags.Ack, seq: peer.Nxt + 1));

        TcpHeader challenge = peer.ExpectOne();
        Assert.Equal(TcpFlags.Ack, challenge.Flags);
        Assert.Equal(peer.Nxt, challenge.AcknowledgmentNumber);
        Assert.Equal(TcpState.Established, socket.Connection!.State);
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPChallengeACK);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [Trait("Rfc", "5961 §4.2")]
    public void Syn_InTheWindow_GetsAChallengeAckNeverAReset(int offset)
    {
        var (peer, socket) = Established();

        Inject(peer, Segment(peer, TcpFlags.Syn, seq: peer.Nxt + offset, ack: default, options: TcpOptionBytes.Mss(1460)));

        TcpHeader challenge = peer.ExpectOne();
        Assert.Equal(TcpFlags.Ack, challenge.Flags);
        Assert.Equal(TcpState.Established, socket.Connection!.State);
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPChallengeACK);
    }

    [Theory]
    [InlineData(-5000)]
    [InlineData(50_000_000)]
    [Trait("Rfc", "5961 §4.2")]
    public void Syn_OutsideTheWindow_IsAnsweredWithAnAckAndDropped(int offset)
    {
        var (peer, socket) = Established();

        Inject(peer, Segment(peer, TcpFlags.Syn, seq: peer.Nxt + offset, ack: default));

        TcpHeader ack = peer.ExpectOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags); // RFC 9293 first check: unacceptable, send <ACK> — never RST
        Assert.Equal(peer.Nxt, ack.AcknowledgmentNumber);
        Assert.Equal(TcpState.Established, socket.Connection!.State);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void Ack_OfDataNeverSent_IsAnsweredAndItsDataDropped()
    {
        var (peer, socket) = Established();
        SeqNumber una = socket.Connection!.SndUna;

        Inject(peer, Segment(peer, TcpFlags.Ack | TcpFlags.Psh, ack: una + 100_000, payload: "injected"u8.ToArray()));

        TcpHeader ack = peer.ExpectOne();
        Assert.Equal(peer.Nxt, ack.AcknowledgmentNumber); // the data was not accepted
        Assert.Equal(una, socket.Connection.SndUna);
        Assert.Equal(0, socket.Connection.ReceiveQueued);
    }

    [Fact]
    [Trait("Rfc", "5961 §5.2")]
    public void Ack_TooFarBelowSndUna_GetsAChallengeAckAndItsDataDropped()
    {
        var (peer, socket) = Established();
        socket.Blocking = false;
        socket.Send(new byte[1000]);
        peer.Harness.Advance(TimeSpan.FromMilliseconds(1));
        peer.Sent();
        peer.Send(TcpFlags.Ack, peer.Rcv + 1000);
        SeqNumber una = socket.Connection!.SndUna;
        peer.Sent();

        Inject(peer, Segment(peer, TcpFlags.Ack | TcpFlags.Psh, ack: una - 1_000_000, payload: "injected"u8.ToArray()));

        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPChallengeACK);
        Assert.Equal(0, socket.Connection.ReceiveQueued);
        Assert.Equal(una, socket.Connection.SndUna);
    }

    private static readonly TcpOptions s_timestamps = new() { Mss = 1460, HasTimestamp = true, TsVal = 5000 };

    [Fact]
    [Trait("Rfc", "7323 §5.3")]
    public void Paws_SegmentWithAnOlderTimestamp_IsDroppedAndAcked()
    {
        var (peer, socket) = Established(s_timestamps);

        Inject(peer, Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: "replayed"u8.ToArray(), options: TcpOptionBytes.Timestamp(4999, 0)));

        Assert.Equal(0, socket.Connection!.ReceiveQueued);
        Assert.Equal(1, peer.Stack.Counters.Tcp.PAWSEstab);
        Assert.Equal(TcpFlags.Ack, peer.ExpectOne().Flags);
    }

    [Fact]
    [Trait("Rfc", "7323 §5.3")]
    public void Paws_TimestampAcrossTheWrap_IsNewer()
    {
        var (peer, socket) = Established(new TcpOptions { Mss = 1460, HasTimestamp = true, TsVal = 0xFFFF_FFF0 });

        Inject(peer, Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: "fresh"u8.ToArray(), options: TcpOptionBytes.Timestamp(5, 0)));

        Assert.Equal(5, socket.Connection!.ReceiveQueued); // 5 is after 0xFFFFFFF0 in 2^32 arithmetic
        Assert.Equal(0, peer.Stack.Counters.Tcp.PAWSEstab);
    }

    [Fact]
    [Trait("Rfc", "7323 §5.3")]
    public void Paws_DoesNotApplyToRst()
    {
        var (peer, socket) = Established(s_timestamps);

        Inject(peer, Segment(peer, TcpFlags.Rst, ack: default, options: TcpOptionBytes.Timestamp(1, 0)));

        Assert.Equal(TcpState.Closed, socket.Connection!.State);
        Assert.Equal(1, peer.Stack.Counters.Tcp.EstabResets);
    }

    [Fact]
    [Trait("Rfc", "1337 §3")]
    public void TimeWait_EveryKindOfRst_IsIgnored()
    {
        var (peer, socket) = Established();
        socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        peer.Sent();
        peer.Rcv += 1;
        peer.SendData(default, TcpFlags.Fin);
        Assert.Equal(TcpState.TimeWait, socket.Connection!.State);
        peer.Sent();

        Inject(peer, Segment(peer, TcpFlags.Rst, ack: default));
        Inject(peer, Segment(peer, TcpFlags.Rst | TcpFlags.Ack));
        Inject(peer, Segment(peer, TcpFlags.Rst, seq: peer.Nxt + 10, ack: default));
        Inject(peer, Segment(peer, TcpFlags.Rst | TcpFlags.Ack, seq: peer.Nxt - 1));

        Assert.Equal(TcpState.TimeWait, socket.Connection.State);
        peer.ExpectNothing(); // a reset is never answered
        Assert.Equal(1, peer.Stack.Tcp.ConnectionCount);
        peer.Harness.Advance(peer.Stack.Tcp.Settings.TimeWait + TimeSpan.FromSeconds(1));
        Assert.Equal(0, peer.Stack.Tcp.ConnectionCount); // it still ends when 2 MSL are over
    }
}
