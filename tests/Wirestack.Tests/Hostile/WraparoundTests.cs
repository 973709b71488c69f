using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Wire;
using static Wirestack.Tests.Hostile.HostileInput;

namespace Wirestack.Tests.Hostile;

/// <summary>Sequence numbers that wrap past 2^32 (RFC 9293 §3.4): a transfer across 0xFFFFFF00 delivers every byte,
/// in order, in both directions.</summary>
public sealed class WraparoundTests
{
    private const uint NearTheWrap = 0xFFFF_FF00;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    [Trait("Rfc", "9293 §3.4")]
    public void Receive_AcrossTheWrap_DeliversAllBytesInOrder(bool reorder)
    {
        var peer = new TcpPeer { Nxt = new SeqNumber(NearTheWrap - 1), SynOptions = new TcpOptions { Mss = 1000, SackPermitted = true } };
        NetSocket socket = peer.Establish();
        socket.Blocking = false;
        const int total = 200_000;
        const int segment = 1000;
        const int group = 8;
        var received = new MemoryStream();
        byte[] buffer = new byte[65536];
        SeqNumber start = peer.Nxt;
        for (int g = 0; g < total / segment; g += group)
        {
            IEnumerable<int> order = Enumerable.Range(g, group);
            foreach (int i in reorder ? order.Reverse() : order)
            {
                peer.Send(TcpFlags.Ack, peer.Rcv, Pattern((long)i * segment, segment), seq: start + i * segment);
            }

            peer.Nxt = start + (g + group) * segment;
            int n;
            while ((n = socket.Receive(buffer, out _)) > 0)
            {
                received.Write(buffer, 0, n);
            }

            peer.Sent();
        }

        Assert.True((start + total).Value < start.Value, "the transfer must cross 2^32");
        Assert.Equal(Pattern(0, total), received.ToArray());
        Assert.Equal(start + total, socket.Connection!.RcvNxt);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.4")]
    public void Send_AcrossTheWrap_DeliversAllBytesInOrder()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1460, SackPermitted = true } };
        // Find a local port whose initial sequence number (RFC 6528: a keyed hash of the 4-tuple plus the clock, here
        // at virtual time 0) lies within 1 MB before the wrap, so the 2 MB below cross it.
        IPv4Address local = peer.Harness.Local;
        ushort localPort = 0;
        SeqNumber iss = default;
        for (int port = 1024; port <= 65535 && localPort == 0; port++)
        {
            iss = peer.Stack.Tcp.NextIsn(new FourTuple(local, (ushort)port, TcpPeer.RemoteAddress, peer.RemotePort), peer.Harness.Now);
            if (iss.Value is > NearTheWrap - (1u << 20) and <= NearTheWrap)
            {
                localPort = (ushort)port;
            }
        }

        Assert.NotEqual(0, localPort);
        var socket = new NetSocket(peer.Stack, SocketType.Stream) { Blocking = false };
        socket.Bind(new IPEndPoint(IPAddress.Any, localPort));
        Assert.Equal(SocketError.InProgress, socket.Connect(TcpPeer.RemoteAddress, peer.RemotePort));
        peer.LocalPort = localPort;
        TcpHeader syn = peer.ExpectOne();
        Assert.Equal(iss, syn.SequenceNumber);
        peer.Send(TcpFlags.Syn | TcpFlags.Ack, syn.SequenceNumber + 1, options: new TcpOptions { Mss = 1460, SackPermitted = true });
        peer.Nxt += 1;
        peer.Rcv = syn.SequenceNumber + 1;
        Assert.Equal(TcpState.Established, socket.Connection!.State);

        const int total = 2 << 20;
        byte[] data = Pattern(0, total);
        var received = new MemoryStream();
        int offered = 0;
        bool crossed = false;
        for (int round = 0; round < 100_000 && received.Length < total; round++)
        {
            if (offered < total)
            {
                offered += socket.Send(data.AsSpan(offered), out _);
            }

            peer.Harness.Advance(TimeSpan.FromMilliseconds(1));
            foreach ((TcpHeader h, int length, _) in peer.Sent().Where(s => s.PayloadLength > 0).OrderBy(s => s.Header.SequenceNumber))
            {
                if (h.SequenceNumber != peer.Rcv)
                {
                    continue; // a retransmission of what we have, or (not here) out of order
                }

                int offset = h.SequenceNumber - (syn.SequenceNumber + 1);
                received.Write(data, offset, length);
                crossed |= (h.SequenceNumber + length).Value < h.SequenceNumber.Value;
                peer.Rcv += length;
            }

            peer.Send(TcpFlags.Ack, peer.Rcv);
        }

        Assert.True(crossed, "the transfer must cross 2^32");
        Assert.Equal(total, received.Length);
        Assert.Equal(data, received.ToArray());
    }
}
