using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>Differences from Linux that the packetdrill corpus found (tests/Wirestack.Conformance.Tests), each pinned
/// down here at the segment level.</summary>
public sealed class ConformanceGapTests
{
    /// <summary>A passive open whose handshake takes <paramref name="rtt"/> (the SYN-ACK's RTT sample).</summary>
    private static NetSocket EstablishWithRtt(TcpPeer peer, TimeSpan rtt)
    {
        var listener = new NetSocket(peer.Stack, SocketType.Stream);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, peer.LocalPort));
        listener.Listen(4);
        peer.Send(TcpFlags.Syn, default, options: peer.SynOptions);
        TcpHeader synAck = peer.ExpectOne();
        peer.Harness.Advance(rtt);
        peer.Nxt += 1;
        peer.Rcv = synAck.SequenceNumber + 1;
        peer.Send(TcpFlags.Ack, peer.Rcv);
        listener.Blocking = false;
        return listener.Accept();
    }

    private static NetStackOptions WithReceiveMax(int tcpRmemMax)
    {
        var options = new NetStackOptions();
        options.Tcp.ReceiveBufferMax = tcpRmemMax;
        return options;
    }

    /// <summary>Starts a non-blocking connect and returns the SYN the stack sent.</summary>
    private static TcpHeader ConnectAndTakeSyn(TcpPeer peer, Action<NetSocket>? beforeConnect = null)
    {
        var socket = new NetSocket(peer.Stack, SocketType.Stream) { Blocking = false };
        beforeConnect?.Invoke(socket);
        Assert.Equal(SocketError.InProgress, socket.Connect(TcpPeer.RemoteAddress, peer.RemotePort));
        TcpHeader syn = peer.ExpectOne();
        Assert.Equal(TcpFlags.Syn, syn.Flags);
        return syn;
    }

    // ---- window scale (RFC 7323 §2.3, Linux tcp_select_initial_window) -----------------------------------------------

    [Theory]
    [Trait("Rfc", "7323 §2.3")]
    [InlineData(6291456, 7)]    // Linux's default tcp_rmem[2], 6 MiB
    [InlineData(15728640, 8)]   // packetdrill's defaults.sh, 15 MiB
    [InlineData(3145728, 6)]    // a 2013 test machine: 3 MiB
    [InlineData(100000, 2)]     // below rmem_max (212992): rmem_max decides
    public void Syn_WindowScale_FitsTheLargestBufferIn16Bits(int tcpRmemMax, int expectedScale)
    {
        var peer = new TcpPeer(WithReceiveMax(tcpRmemMax));

        TcpHeader syn = ConnectAndTakeSyn(peer);

        // ilog2(max(tcp_rmem[2], rmem_max)) - 15: the smallest shift that brings the buffer under 65536.
        Assert.Equal((byte?)expectedScale, syn.Options.WindowScale);
    }

    [Fact]
    [Trait("Rfc", "7323 §2.3")]
    public void Syn_WindowScale_AfterSoRcvBuf_IsSizedForThatBuffer()
    {
        var peer = new TcpPeer(WithReceiveMax(15728640));

        // SO_RCVBUF 256000 (doubled to 512000, half of it window): Linux clamps the window to tcp_full_space, 256000,
        // and 256000 >> 2 fits 16 bits.
        TcpHeader syn = ConnectAndTakeSyn(peer, s => s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer, 256000));

        Assert.Equal((byte?)2, syn.Options.WindowScale);
    }

    [Fact]
    [Trait("Rfc", "7323 §2.3")]
    public void SynAck_WindowScale_FollowsTheSameRule()
    {
        var peer = new TcpPeer(WithReceiveMax(15728640)) { SynOptions = new TcpOptions { Mss = 1460, WindowScale = 7 } };
        NetSocket socket = peer.Establish();
        Assert.Equal(8, socket.Connection!.ReceiveScale);
    }

    // ---- the ACK of a FIN (Linux tcp_fin, __tcp_ack_snd_check) --------------------------------------------------

    [Fact]
    [Trait("Rfc", "1122 §4.2.3.2")]
    public void FinAfterData_InEstablished_IsAcknowledgedAfterTheDelayedAckTime()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.SendData(new byte[1000]);
        Assert.Equal(peer.Nxt, peer.ExpectOne().AcknowledgmentNumber); // quick-ACK after the handshake

        peer.SendData([], TcpFlags.Fin);

        Assert.Equal(TcpState.CloseWait, socket.Connection!.State);
        peer.ExpectNothing();
        peer.Harness.Advance(TimeSpan.FromMilliseconds(39));
        peer.ExpectNothing();
        peer.Harness.Advance(TimeSpan.FromMilliseconds(1));
        TcpHeader ack = peer.ExpectOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(peer.Nxt, ack.AcknowledgmentNumber);
    }

    [Fact]
    [Trait("Rfc", "1122 §4.2.3.2")]
    public void FinAfterData_CloseWithinTheDelay_FinCarriesTheAck()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.SendData(new byte[100]);
        peer.Sent();
        peer.SendData([], TcpFlags.Fin);
        peer.Harness.Advance(TimeSpan.FromMilliseconds(10));
        Assert.Equal(100, socket.Receive(new byte[200]));

        socket.Close();

        TcpHeader fin = peer.ExpectOne();
        Assert.Equal(TcpFlags.Fin | TcpFlags.Ack, fin.Flags);
        Assert.Equal(peer.Nxt, fin.AcknowledgmentNumber);
        peer.Harness.Advance(TimeSpan.FromMilliseconds(100));
        peer.ExpectNothing(); // the delayed ACK went with the FIN
    }

    [Fact]
    [Trait("Rfc", "1122 §4.2.3.2")]
    public void Fin_BeforeAnyData_IsAcknowledgedAtOnce()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();

        peer.SendData([], TcpFlags.Fin);

        Assert.Equal(TcpState.CloseWait, socket.Connection!.State);
        Assert.Equal(peer.Nxt, peer.ExpectOne().AcknowledgmentNumber);
    }

    [Fact]
    [Trait("Rfc", "1122 §4.2.3.2")]
    public void DataAndFin_MoreThanASegmentUnacknowledged_OneAckAtOnce()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1000 } };
        NetSocket socket = peer.Establish();

        peer.SendData(new byte[1000], TcpFlags.Fin | TcpFlags.Psh);

        TcpHeader ack = peer.ExpectOne(); // one ACK covering data and FIN, not one for each
        Assert.Equal(peer.Nxt, ack.AcknowledgmentNumber);
        Assert.Equal(TcpState.CloseWait, socket.Connection!.State);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void RetransmittedDataAndFin_DataHereAlready_OnlyTheFinIsAcknowledged()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1000 } };
        NetSocket socket = peer.Establish();
        SeqNumber start = peer.Nxt;
        peer.SendData(new byte[1000]);
        peer.Sent();

        peer.Send(TcpFlags.Ack | TcpFlags.Fin, peer.Rcv, new byte[1000], seq: start); // the data again, with a FIN
        peer.Harness.Advance(TimeSpan.FromMilliseconds(50));

        var sent = peer.Sent();
        Assert.Single(sent); // no duplicate ACK of the data before the ACK of the FIN
        Assert.Equal(start + 1001, sent[0].Header.AcknowledgmentNumber);
        Assert.Equal(TcpState.CloseWait, socket.Connection!.State);
    }

    // ---- window updates (RFC 9293 §3.8.6.2.2, Linux tcp_cleanup_rbuf) ---------------------------------------------

    [Fact]
    [Trait("Rfc", "9293 §3.8.6.2.2")]
    public void Read_WithoutWindowScaling_SendsNoUpdateWhenTheWindowCannotGrow()
    {
        var options = new NetStackOptions();
        options.Tcp.ReceiveBufferDefault = 540000; // a buffer far larger than 65535
        var peer = new TcpPeer(options) { SynOptions = new TcpOptions { Mss = 1000 } }; // no window scale
        NetSocket socket = peer.Establish();
        peer.SendData(new byte[1000]);
        Assert.Equal(65535, peer.ExpectOne().Window);

        Assert.Equal(1000, socket.Receive(new byte[1000]));

        peer.ExpectNothing(); // the window already says 65535, the most it can say
    }

    // ---- resets (RFC 9293 §3.10.7, RFC 1122 §4.2.2.13) ------------------------------------------------------------

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void DataAfterClose_InFinWait1_ResetTakesItsSequenceFromTheAckAndHasNoAck()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        TcpConnection connection = socket.Connection!;
        socket.Close();
        Assert.True(peer.ExpectOne().Has(TcpFlags.Fin));

        peer.Send(TcpFlags.Ack | TcpFlags.Psh, peer.Rcv + 1, new byte[1000]); // acknowledges our FIN, sends data

        // Linux tcp_v4_send_reset for an ACK-bearing segment: <SEQ=SEG.ACK><CTL=RST>, no ACK bit.
        TcpHeader rst = peer.ExpectOne();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(peer.Rcv + 1, rst.SequenceNumber);
        Assert.Equal(TcpState.Closed, connection.State);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.1")]
    public void ListenerClose_HalfOpenConnection_GoesSilently_ItsAckGetsAResetFromTheAck()
    {
        var peer = new TcpPeer();
        var listener = new NetSocket(peer.Stack, SocketType.Stream);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, peer.LocalPort));
        listener.Listen(1);
        peer.Send(TcpFlags.Syn, default, options: peer.SynOptions);
        TcpHeader synAck = peer.ExpectOne();

        listener.Close();

        peer.ExpectNothing(); // Linux inet_csk_listen_stop drops the request without a reset
        Assert.Equal(0, peer.Stack.Tcp.ConnectionCount);
        peer.Send(TcpFlags.Ack | TcpFlags.Psh, synAck.SequenceNumber + 1, seq: peer.Nxt + 1);
        TcpHeader rst = peer.ExpectOne();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(synAck.SequenceNumber + 1, rst.SequenceNumber);
    }

    // ---- timestamps (RFC 7323 §4.3) ------------------------------------------------------------------------------

    [Fact]
    [Trait("Rfc", "7323 §4.3")]
    public void SegmentWithAnAckOfUnsentData_DoesNotMoveTsRecent()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1000, HasTimestamp = true, TsVal = 100 } };
        NetSocket socket = peer.Establish();
        var old = new TcpOptions { HasTimestamp = true, TsVal = 200 };
        peer.Send(TcpFlags.Ack, peer.Rcv, options: old);
        peer.Sent();

        var future = new TcpOptions { HasTimestamp = true, TsVal = 200000 };
        peer.Send(TcpFlags.Ack | TcpFlags.Fin, peer.Rcv + 9999, options: future); // SEG.ACK > SND.NXT: dropped

        TcpHeader challenge = peer.ExpectOne();
        Assert.Equal(200u, challenge.Options.TsEcr); // the dropped segment's TSval is not echoed
        Assert.Equal(TcpState.Established, socket.Connection!.State);
    }

    // ---- FIN and the peer's window (RFC 9293 §3.8.6.1) ---------------------------------------------------------------

    [Fact]
    [Trait("Rfc", "9293 §3.8.6.1")]
    public void Close_OnAZeroWindow_HoldsTheFinAndProbesUntilTheWindowOpens()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        Assert.Equal(5, socket.Send(new byte[5]));
        Assert.Equal(5, peer.Sent().Single().PayloadLength);
        peer.Rcv += 5;
        peer.Send(TcpFlags.Ack, peer.Rcv, window: 0);

        socket.Close();

        peer.ExpectNothing(); // the FIN's sequence number does not fit a zero window
        peer.Harness.Advance(TimeSpan.FromMilliseconds(250));
        TcpHeader probe = peer.ExpectOne();
        Assert.Equal(TcpFlags.Ack, probe.Flags);
        Assert.Equal(peer.Rcv - 1, probe.SequenceNumber); // Linux's probe: SND.UNA - 1

        peer.Send(TcpFlags.Ack, peer.Rcv, window: 1000);

        TcpHeader fin = peer.ExpectOne();
        Assert.True(fin.Has(TcpFlags.Fin));
        Assert.Equal(peer.Rcv, fin.SequenceNumber);
    }

    // ---- listener options (Linux sk_clone_lock, tcp_create_openreq_child) ------------------------------------------

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.2")]
    public void Listener_OptionsSetBeforeListen_PassToTheConnectionsItCreates()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1460, WindowScale = 7 } };
        var listener = new NetSocket(peer.Stack, SocketType.Stream);
        Assert.Equal(SocketError.Success, listener.SetSocketOption(LinuxSocketOption.TcpMaxSegment, 1000));
        Assert.Equal(SocketError.Success, listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer, 20000));
        Assert.Equal(SocketError.Success, listener.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.NoDelay, 1));
        Assert.Equal(SocketError.Success, listener.SetSocketOption(LinuxSocketOption.TcpUserTimeout, 5000));
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, peer.LocalPort));
        listener.Listen(4);
        Assert.Equal(SocketError.Success, listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, 1)); // after listen too

        peer.Send(TcpFlags.Syn, default, options: peer.SynOptions);

        TcpHeader synAck = peer.ExpectOne();
        Assert.Equal((ushort?)1000, synAck.Options.Mss);      // TCP_MAXSEG
        Assert.Equal(20000, synAck.Window);                     // half of the doubled SO_RCVBUF
        Assert.Equal((byte?)0, synAck.Options.WindowScale);    // scaled for that buffer, not for tcp_rmem[2]
        peer.Nxt += 1;
        peer.Send(TcpFlags.Ack, synAck.SequenceNumber + 1);
        listener.Blocking = false;
        NetSocket accepted = listener.Accept();
        TcpConnection c = accepted.Connection!;
        Assert.Equal(40000, accepted.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer));
        Assert.True(c.NoDelay);
        Assert.True(c.KeepAlive);
        Assert.Equal(TimeSpan.FromSeconds(5), c.UserTimeout);
        Assert.Equal(1000, c.MaxSegmentOption);
    }

    // ---- acceptability at the right edge (RFC 9293 §3.10.7.4, Linux tcp_sequence) ---------------------------------

    [Theory]
    [Trait("Rfc", "9293 §3.10.7.4")]
    [InlineData(0, true)]   // exactly at RCV.NXT + RCV.WND: Linux takes it
    [InlineData(1, false)]  // one beyond: dropped, answered with an ACK
    public void EmptyAck_AtTheRightEdgeOfTheWindow_IsAcceptedLikeLinux(int beyondEdge, bool accepted)
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1000 } }; // no window scaling: the window is 65535
        NetSocket socket = peer.Establish();
        Assert.Equal(1000, socket.Send(new byte[1000]));
        peer.Sent();
        TcpConnection c = socket.Connection!;
        int window = 65535;

        peer.Send(TcpFlags.Ack, peer.Rcv + 1000, seq: peer.Nxt + window + beyondEdge);

        Assert.Equal(accepted ? 0 : 1000, c.SendQueued);
        if (!accepted)
        {
            Assert.Equal(peer.Nxt, peer.ExpectOne().AcknowledgmentNumber);
        }
    }

    // ---- Nagle, Minshall's variant (RFC 9293 §3.7.4, Linux tcp_nagle_check) ----------------------------------------

    [Fact]
    [Trait("Rfc", "9293 §3.7.4")]
    public void Nagle_TheTailOfAWriteFollowsItsFullSegment_ButASecondSmallSegmentWaits()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1000 } };
        NetSocket socket = peer.Establish();

        Assert.Equal(1500, socket.Send(new byte[1500]));

        // The 500-byte tail goes at once: no earlier small segment is unacknowledged.
        Assert.Equal([1000, 500], peer.Sent().Select(s => s.PayloadLength));

        Assert.Equal(100, socket.Send(new byte[100]));
        peer.ExpectNothing(); // the 500-byte segment is still unacknowledged: this one waits

        peer.Send(TcpFlags.Ack, peer.Rcv + 1500);
        Assert.Equal([100], peer.Sent().Where(s => s.PayloadLength > 0).Select(s => s.PayloadLength));
    }

    // ---- PSH on TSO/GSO packets (Linux __tcp_transmit_skb, tcp_tso_autosize) --------------------------------------

    [Fact]
    [Trait("Rfc", "9293 §3.9.1")]
    public void InitialWindow_CwndLimitedBurst_EndsWithPsh()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1000 } };
        NetSocket socket = peer.Establish();
        socket.Blocking = false;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.SendBuffer, 65536);

        Assert.Equal(15000, socket.Send(new byte[15000]));

        // Linux sends the initial window as one TSO packet, and every packet of more than one segment carries PSH
        // on its last segment; the data left over waits for the window.
        var sent = peer.Sent();
        Assert.Equal(10, sent.Count);
        Assert.All(sent.Take(9), s => Assert.False(s.Header.Has(TcpFlags.Psh)));
        Assert.True(sent[9].Header.Has(TcpFlags.Psh));
    }

    [Fact]
    [Trait("Rfc", "9293 §3.9.1")]
    public void OnceTheRttIsKnown_BurstsGoInTwoSegmentPacketsEachEndingWithPsh()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1000 } };
        NetSocket socket = EstablishWithRtt(peer, TimeSpan.FromMilliseconds(100));
        socket.Blocking = false;
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.NoDelay, 1);
        Assert.Equal(100, socket.Send(new byte[100]));
        peer.Sent();
        peer.Harness.Advance(TimeSpan.FromMilliseconds(100));
        peer.Send(TcpFlags.Ack, peer.Rcv + 100); // RTT 100 ms: the pacing rate is 2 · 10 · 1000 B / 0.1 s

        Assert.Equal(2500, socket.Send(new byte[2500]));

        // tcp_tso_autosize: a millisecond at 200 kB/s is under one segment, so packets of tcp_min_tso_segs (2).
        var sent = peer.Sent();
        Assert.Equal([1000, 1000, 500], sent.Select(s => s.PayloadLength));
        Assert.Equal([false, true, true], sent.Select(s => s.Header.Has(TcpFlags.Psh)));
    }

    // ---- RTT from the handshake (RFC 6298 §2) -------------------------------------------------------------------------

    [Fact]
    [Trait("Rfc", "6298 §2")]
    public void PassiveOpen_AtInstantZero_StillSamplesTheHandshakeRtt()
    {
        var peer = new TcpPeer();
        Assert.Equal(0, peer.Harness.Now.Microseconds); // the virtual clock starts at 0: a real time, not "unset"

        NetSocket accepted = EstablishWithRtt(peer, TimeSpan.FromMilliseconds(50));

        Assert.Equal(TimeSpan.FromMilliseconds(50), accepted.Connection!.Rtt.SmoothedRtt);
    }
}
