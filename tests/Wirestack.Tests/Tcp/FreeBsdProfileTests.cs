using System.Net.Sockets;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>The FreeBSD profile (<c>TcpSettings.FreeBsd()</c>) as the freebsd-tcp-testsuite scripts see FreeBSD:
/// BSD socket buffers, the SYN's option layout and window scale, rexmit_slop, the acceptability window.</summary>
public sealed class FreeBsdProfileTests
{
    private static TcpPeer Peer() => new(NetStackOptions.ForProfile("freebsd"));

    private static (NetSocket Socket, TcpHeader Syn) Connect(TcpPeer peer)
    {
        var socket = new NetSocket(peer.Stack, SocketType.Stream) { Blocking = false };
        Assert.Equal(SocketError.InProgress, socket.Connect(TcpPeer.RemoteAddress, peer.RemotePort));
        return (socket, peer.ExpectOne());
    }

    /// <summary>Answers the SYN with a SYN-ACK (MSS 1460, SACK, no window scale or timestamps) at ISN 1000.</summary>
    private static NetSocket Establish(TcpPeer peer)
    {
        (NetSocket socket, TcpHeader syn) = Connect(peer);
        peer.LocalPort = syn.SourcePort; // the stack's ephemeral port: the peer answers it from RemotePort
        peer.Rcv = syn.SequenceNumber + 1;
        peer.Nxt = new SeqNumber(1000);
        peer.Send(TcpFlags.Syn | TcpFlags.Ack, peer.Rcv, options: new TcpOptions { Mss = 1460, SackPermitted = true }, window: 32767);
        peer.Nxt += 1;
        Assert.Equal(TcpFlags.Ack, peer.ExpectOne().Flags);
        return socket;
    }

    [Fact]
    [Trait("Rfc", "7323 §2.3")]
    public void Syn_OffersTheWholeBuffer_InFreeBsdsOptionOrder_ScaledForSbMax()
    {
        var peer = Peer();
        var socket = new NetSocket(peer.Stack, SocketType.Stream) { Blocking = false };

        Assert.Equal(SocketError.InProgress, socket.Connect(TcpPeer.RemoteAddress, peer.RemotePort));

        byte[] datagram = peer.Harness.TakeSent().Single().Bytes;
        Assert.True(SegmentBuilder.TryParseTcp(datagram, out _, out TcpHeader syn, out _));
        // recvspace 65536, all of it usable: the SYN says 65535 (TCP_MAXWIN); wscale 6 for kern.ipc.maxsockbuf 2 MiB;
        // options in FreeBSD's order: mss, nop, wscale, sackOK, TS.
        Assert.Equal(65535, syn.Window);
        byte[] options = datagram[40..60];
        Assert.Equal([2, 4, 0x05, 0xb4, 1, 3, 3, 6, 4, 2, 8, 10], options[..12]);
    }

    [Fact]
    public void SoRcvBuf_IsNotDoubled_AndGrowsToAMultipleOfTheMssOnceEstablished()
    {
        var peer = Peer();
        var socket = new NetSocket(peer.Stack, SocketType.Stream) { Blocking = false };
        Assert.Equal(65536, socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer));
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer, 50000);
        Assert.Equal(50000, socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer)); // as given

        var established = Establish(Peer());

        // FreeBSD tcp_mss: roundup(65536, 1460) = 45 · 1460.
        Assert.Equal(65700, established.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer));
    }

    [Fact]
    public void SynRetransmissions_AddRexmitSlopToEachBackedOffTimeout()
    {
        var peer = Peer();
        (_, TcpHeader _) = Connect(peer);
        double start = peer.Harness.Now.TotalSeconds;

        peer.Harness.Advance(TimeSpan.FromSeconds(8));

        // TCPT_RANGESET: 1 s (the initial RTO as set), then 2 + 0.2, 4 + 0.2 s.
        Assert.Equal([1.0, 3.2, 7.4], peer.Sent().Select(s => Math.Round(s.Time - start, 3)));
    }

    [Theory]
    [InlineData(65699, true)]   // inside the free receive space (65700), beyond the 65535 advertised: challenge ACK
    [InlineData(65700, false)]  // at its edge: FreeBSD, unlike Linux, does not take it
    public void Rst_IsJudgedAgainstTheFreeReceiveSpace(int offset, bool challenged)
    {
        var peer = Peer();
        NetSocket socket = Establish(peer);

        peer.Send(TcpFlags.Rst, default, seq: peer.Nxt + offset);

        Assert.Equal(TcpState.Established, socket.Connection!.State);
        Assert.Equal(challenged ? 1 : 0, peer.Sent().Count);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.8.6.2.2")]
    public void AfterThePeersFin_TheWindowStillSaysAllTheFreeSpace()
    {
        var peer = Peer();
        NetSocket socket = Establish(peer);

        peer.SendData([], TcpFlags.Fin);

        TcpHeader ack = peer.Sent().Last().Header;
        Assert.Equal(peer.Nxt, ack.AcknowledgmentNumber);
        Assert.Equal(65535, ack.Window); // FreeBSD advertises sbspace (capped at 65535), not a window one short
        Assert.Equal(TcpState.CloseWait, socket.Connection!.State);
    }
}
