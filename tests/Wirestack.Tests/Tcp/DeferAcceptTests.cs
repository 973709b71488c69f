using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>TCP_DEFER_ACCEPT as Linux has it: the period becomes a count of SYN-ACK timeouts (secs_to_retrans);
/// while it lasts a bare ACK does not complete the handshake (tcp_check_req, TCPDeferAcceptDrop) and the SYN-ACK is
/// not resent until the last timeout (syn_ack_recalc); data completes it at once.</summary>
public sealed class DeferAcceptTests
{
    private const ushort Port = 8080;

    private static (TcpPeer Peer, NetSocket Listener, SeqNumber StackIss) SynAcked(int deferSeconds)
    {
        var peer = new TcpPeer(NetStackOptions.ForProfile("linux"));
        var listener = new NetSocket(peer.Stack, SocketType.Stream);
        Assert.Equal(SocketError.Success, listener.SetSocketOption(LinuxSocketOption.TcpDeferAccept, deferSeconds));
        listener.Bind(new IPEndPoint(IPAddress.Any, Port));
        listener.Listen(4);
        listener.Blocking = false;
        peer.Send(TcpFlags.Syn, default, options: peer.SynOptions);
        TcpHeader synAck = peer.ExpectOne();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        peer.Nxt += 1;
        peer.Rcv = synAck.SequenceNumber + 1;
        return (peer, listener, synAck.SequenceNumber);
    }

    private static bool Accepts(NetSocket listener) => listener.Accept(out _) is not null;

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(-3, 0, 0)]
    [InlineData(1, 1, 1)]
    [InlineData(3, 2, 3)]
    [InlineData(5, 3, 7)]   // 1 + 2 + 4 s
    [InlineData(8, 4, 15)]
    [InlineData(1000, 15, 1087)] // 1+2+...+64 = 127 s in 7 timeouts, then 120 s each (TCP_RTO_MAX): 127 + 8 × 120
    public void Seconds_become_syn_ack_timeouts_and_getsockopt_reports_the_period_they_span(int set, int timeouts, int reported)
    {
        Assert.Equal(timeouts, TcpConnection.DeferAcceptTimeoutsFor(set));
        var peer = new TcpPeer(NetStackOptions.ForProfile("linux"));
        var listener = new NetSocket(peer.Stack, SocketType.Stream);
        listener.SetSocketOption(LinuxSocketOption.TcpDeferAccept, set);
        Assert.Equal(reported, listener.GetSocketOption(LinuxSocketOption.TcpDeferAccept));
    }

    [Fact]
    public void A_bare_ack_is_dropped_until_the_last_syn_ack_timeout_then_completes_the_handshake()
    {
        (TcpPeer peer, NetSocket listener, _) = SynAcked(deferSeconds: 3); // 2 timeouts: at 1 s and at 3 s

        peer.Send(TcpFlags.Ack, peer.Rcv);
        Assert.False(Accepts(listener));
        Assert.Equal(1, peer.Stack.Tcp.Counters.TCPDeferAcceptDrop);

        peer.Harness.Advance(TimeSpan.FromMilliseconds(2500));
        peer.ExpectNothing(); // the 1 s timeout does not resend: the request was acknowledged
        peer.Send(TcpFlags.Ack, peer.Rcv);
        Assert.False(Accepts(listener));

        peer.Harness.Advance(TimeSpan.FromMilliseconds(500));
        var lastChance = peer.Sent();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, Assert.Single(lastChance).Header.Flags);
        Assert.Equal(3.0, lastChance[0].Time, 3);

        peer.Send(TcpFlags.Ack, peer.Rcv);
        Assert.True(Accepts(listener));
        Assert.Equal(2, peer.Stack.Tcp.Counters.TCPDeferAcceptDrop);
    }

    [Fact]
    public void Data_completes_the_handshake_at_once()
    {
        (TcpPeer peer, NetSocket listener, _) = SynAcked(deferSeconds: 5);
        peer.Send(TcpFlags.Ack, peer.Rcv);
        Assert.False(Accepts(listener));

        peer.SendData(new byte[4]);

        NetSocket? accepted = listener.Accept(out _);
        Assert.NotNull(accepted);
        Assert.Equal(4, accepted.Receive(new byte[16]));
        Assert.Equal(peer.Nxt, peer.ExpectOne().AcknowledgmentNumber);
    }

    [Fact]
    public void A_request_never_acknowledged_still_gets_every_syn_ack_retransmission()
    {
        (TcpPeer peer, NetSocket listener, _) = SynAcked(deferSeconds: 3);

        peer.Harness.Advance(TimeSpan.FromSeconds(4));

        // Not acknowledged: syn_ack_recalc resends at every timeout (1 s and 3 s), as without the option.
        Assert.Equal([1.0, 3.0], peer.Sent().Where(s => s.Header.Flags == (TcpFlags.Syn | TcpFlags.Ack)).Select(s => Math.Round(s.Time, 3)));
        Assert.False(Accepts(listener));
    }

    [Fact]
    public void A_deferred_request_that_never_sends_data_expires_silently()
    {
        (TcpPeer peer, NetSocket listener, _) = SynAcked(deferSeconds: 3);
        peer.Send(TcpFlags.Ack, peer.Rcv);

        peer.Harness.Advance(TimeSpan.FromSeconds(64)); // timeouts at 1, 3, 7, 15, 31 s: tcp_synack_retries 5

        Assert.Equal(0, peer.Stack.Tcp.ConnectionCount);
        Assert.False(Accepts(listener));
        Assert.DoesNotContain(peer.Sent(), s => s.Header.Flags.HasFlag(TcpFlags.Rst));
    }
}
