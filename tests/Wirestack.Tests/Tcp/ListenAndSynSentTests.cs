using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>RFC 9293 §3.10.7.1 (CLOSED), §3.10.7.2 (LISTEN) and §3.10.7.3 (SYN-SENT).</summary>
public sealed class ListenAndSynSentTests
{
    [Fact]
    [Trait("Rfc", "9293 §3.10.7.1")]
    public void Closed_SynGetsRstAckWithAckOfSynPlusOne()
    {
        var peer = new TcpPeer();
        peer.Send(TcpFlags.Syn, default);
        TcpHeader rst = peer.ExpectOne();
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags);
        Assert.Equal(new SeqNumber(0), rst.SequenceNumber);
        Assert.Equal(peer.Nxt + 1, rst.AcknowledgmentNumber);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.1")]
    public void Closed_AckGetsRstWithSequenceFromAck()
    {
        var peer = new TcpPeer();
        peer.Send(TcpFlags.Ack, new SeqNumber(777));
        TcpHeader rst = peer.ExpectOne();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(new SeqNumber(777), rst.SequenceNumber);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.1")]
    public void Closed_RstIsNeverAnswered()
    {
        var peer = new TcpPeer();
        peer.Send(TcpFlags.Rst, default);
        peer.ExpectNothing();
    }

    [Fact]
    [Trait("Rfc", "7323 §2.2")]
    public void Listen_SynWithOptions_NegotiatesScaleSackAndTimestamps()
    {
        var peer = new TcpPeer
        {
            SynOptions = new TcpOptions { Mss = 1000, WindowScale = 7, SackPermitted = true, HasTimestamp = true, TsVal = 42 },
        };
        NetSocket socket = peer.Establish();
        TcpConnection c = socket.Connection!;
        Assert.True(c.WindowScaleEnabled);
        Assert.True(c.SackEnabled);
        Assert.True(c.TimestampsEnabled);
        Assert.Equal(7, c.SendScale);
        Assert.Equal(1000 - 12, c.Mss); // RFC 9293 §3.7.1: the timestamp option comes out of the MSS
    }

    [Fact]
    [Trait("Rfc", "9293 §3.7.1")]
    public void Listen_MssZero_IsClampedToTheFloor()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 0 } };
        NetSocket socket = peer.Establish();
        Assert.Equal(48, socket.Connection!.Mss); // Linux tcp_min_snd_mss
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.2")]
    public void Listen_AckWithoutConnection_GetsReset()
    {
        var peer = new TcpPeer();
        using var listener = new NetSocket(peer.Stack, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, peer.LocalPort));
        listener.Listen(4);
        peer.Send(TcpFlags.Ack, new SeqNumber(5));
        Assert.Equal(TcpFlags.Rst, peer.ExpectOne().Flags);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.2")]
    public void Listen_SynAckRetransmitsFiveTimesThenForgets()
    {
        var peer = new TcpPeer();
        using var listener = new NetSocket(peer.Stack, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, peer.LocalPort));
        listener.Listen(4);
        peer.Send(TcpFlags.Syn, default);
        peer.Harness.Advance(TimeSpan.FromSeconds(100));
        double[] times = peer.Sent().Where(s => s.Header.Flags == (TcpFlags.Syn | TcpFlags.Ack)).Select(s => s.Time).ToArray();
        Assert.Equal(new[] { 0.0, 1, 3, 7, 15, 31 }, times.Select(t => Math.Round(t - times[0], 3)));
        Assert.Equal(0, peer.Stack.Tcp.ConnectionCount);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.3")]
    public void SynSent_RstWithoutAck_IsIgnored()
    {
        var peer = new TcpPeer();
        using var socket = new NetSocket(peer.Stack, SocketType.Stream) { Blocking = false };
        socket.Connect(TcpPeer.RemoteAddress, 80);
        TcpHeader syn = peer.ExpectOne();
        peer.LocalPort = syn.SourcePort;
        peer.RemotePort = 80;
        peer.Send(TcpFlags.Rst, default);
        Assert.Equal(TcpState.SynSent, socket.Connection!.State);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.3")]
    public void SynSent_BadAck_IsAnsweredWithReset()
    {
        var peer = new TcpPeer();
        using var socket = new NetSocket(peer.Stack, SocketType.Stream) { Blocking = false };
        socket.Connect(TcpPeer.RemoteAddress, 80);
        TcpHeader syn = peer.ExpectOne();
        peer.LocalPort = syn.SourcePort;
        peer.RemotePort = 80;
        peer.Send(TcpFlags.Syn | TcpFlags.Ack, syn.SequenceNumber + 99);
        TcpHeader rst = peer.ExpectOne();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(syn.SequenceNumber + 99, rst.SequenceNumber);
        Assert.Equal(TcpState.SynSent, socket.Connection!.State);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.5")]
    public void SimultaneousOpen_ReachesEstablished()
    {
        var peer = new TcpPeer();
        using var socket = new NetSocket(peer.Stack, SocketType.Stream) { Blocking = false };
        socket.Connect(TcpPeer.RemoteAddress, 80);
        TcpHeader syn = peer.ExpectOne();
        peer.LocalPort = syn.SourcePort;
        peer.RemotePort = 80;
        peer.Send(TcpFlags.Syn, default); // the peer's own SYN crosses ours
        Assert.Equal(TcpState.SynReceived, socket.Connection!.State);
        TcpHeader synAck = peer.ExpectOne();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(syn.SequenceNumber, synAck.SequenceNumber);
        peer.Nxt += 1;
        peer.Send(TcpFlags.Syn | TcpFlags.Ack, syn.SequenceNumber + 1, seq: peer.Nxt - 1);
        Assert.Equal(TcpState.Established, socket.Connection.State);
    }
}
