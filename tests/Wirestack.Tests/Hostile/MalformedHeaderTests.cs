using System.Buffers.Binary;
using Wirestack.Simulation.Fuzzing;
using Wirestack.Sockets;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Wire;
using static Wirestack.Tests.Hostile.HostileInput;

namespace Wirestack.Tests.Hostile;

/// <summary>Malformed IPv4 and TCP headers against an established connection: each is dropped before it touches
/// the connection, counted under its RFC 4293 / RFC 4022 name, and answered with nothing.</summary>
public sealed class MalformedHeaderTests
{
    private static readonly byte[] s_evil = "evil data"u8.ToArray();

    private static (TcpPeer Peer, NetSocket Socket) Established()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.Sent();
        return (peer, socket);
    }

    /// <summary>The connection saw nothing: no byte queued, RCV.NXT where it was, still ESTABLISHED, no reply.</summary>
    private static void AssertUntouched(TcpPeer peer, NetSocket socket, SeqNumber rcvNxt)
    {
        Assert.Equal(TcpState.Established, socket.Connection!.State);
        Assert.Equal(rcvNxt, socket.Connection.RcvNxt);
        Assert.Equal(0, socket.Connection.ReceiveQueued);
        peer.ExpectNothing();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [Trait("Rfc", "791 §3.1")]
    public void IPv4_IhlBelowFive_IsAHeaderError(int ihl)
    {
        var (peer, socket) = Established();
        SeqNumber rcvNxt = socket.Connection!.RcvNxt;
        byte[] d = Datagram(peer, Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: s_evil));
        d[0] = (byte)(0x40 | ihl);
        RawPacket.FixHeaderChecksum(d);

        Inject(peer, d);

        Assert.Equal(1, peer.Stack.Counters.Ip.InHdrErrors);
        Assert.Equal(0, peer.Stack.Counters.Ip.InDelivers - 2); // only the two handshake segments were delivered
        AssertUntouched(peer, socket, rcvNxt);
    }

    [Fact]
    [Trait("Rfc", "791 §3.1")]
    public void IPv4_IhlBeyondTheDatagram_IsAHeaderError()
    {
        var (peer, socket) = Established();
        SeqNumber rcvNxt = socket.Connection!.RcvNxt;
        byte[] d = Datagram(peer, Segment(peer, TcpFlags.Ack)); // 40 bytes: IHL 15 says 60
        d[0] = 0x4F;

        Inject(peer, d);

        Assert.Equal(1, peer.Stack.Counters.Ip.InHdrErrors);
        AssertUntouched(peer, socket, rcvNxt);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(19)]
    [Trait("Rfc", "791 §3.1")]
    public void IPv4_TotalLengthBelowTheHeader_IsAHeaderError(int totalLength)
    {
        var (peer, socket) = Established();
        SeqNumber rcvNxt = socket.Connection!.RcvNxt;
        byte[] d = Datagram(peer, Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: s_evil));
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), (ushort)totalLength);
        RawPacket.FixHeaderChecksum(d);

        Inject(peer, d);

        Assert.Equal(1, peer.Stack.Counters.Ip.InHdrErrors);
        Assert.Equal(0, peer.Stack.Counters.Ip.InTruncatedPkts);
        AssertUntouched(peer, socket, rcvNxt);
    }

    [Fact]
    [Trait("Rfc", "1122 §3.2.1.2")]
    public void IPv4_TotalLengthBeyondTheBytes_IsTruncated()
    {
        var (peer, socket) = Established();
        SeqNumber rcvNxt = socket.Connection!.RcvNxt;
        byte[] d = Datagram(peer, Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: s_evil));
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), (ushort)(d.Length + 100));
        RawPacket.FixHeaderChecksum(d);

        Inject(peer, d);

        Assert.Equal(1, peer.Stack.Counters.Ip.InTruncatedPkts);
        Assert.Equal(1, peer.Stack.Counters.Ip.InHdrErrors);
        AssertUntouched(peer, socket, rcvNxt);
    }

    [Fact]
    [Trait("Rfc", "791 §3.1")]
    public void IPv4_LinkPaddingAfterTotalLength_IsNotData()
    {
        var (peer, socket) = Established();
        byte[] d = Datagram(peer, Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: "real"u8.ToArray()));
        byte[] padded = [.. d, .. "PADDINGPADDING"u8];

        Inject(peer, padded);

        Assert.Equal(4, socket.Connection!.ReceiveQueued); // the padding is not part of the segment (nor its checksum)
        Assert.Equal(peer.Nxt + 4, socket.Connection.RcvNxt);
    }

    [Fact]
    [Trait("Rfc", "1122 §3.2.1.2")]
    public void IPv4_BadHeaderChecksum_IsCounted()
    {
        var (peer, socket) = Established();
        SeqNumber rcvNxt = socket.Connection!.RcvNxt;
        byte[] d = Datagram(peer, Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: s_evil));
        d[10] ^= 0x01;

        Inject(peer, d);

        Assert.Equal(1, peer.Stack.Counters.Ip.InCsumErrors);
        AssertUntouched(peer, socket, rcvNxt);
    }

    [Fact]
    [Trait("Rfc", "791 §3.1")]
    public void IPv4_VersionSix_IsDroppedAsAProtocolNothingHandles()
    {
        // On a raw-IP link the version nibble says which protocol a packet is; this stack has no IPv6.
        var (peer, socket) = Established();
        SeqNumber rcvNxt = socket.Connection!.RcvNxt;
        byte[] d = Datagram(peer, Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: s_evil));
        d[0] = 0x65;
        RawPacket.FixHeaderChecksum(d);

        Inject(peer, d);

        Assert.Equal(1, peer.Harness.Link.Counters.RxNoHandler);
        AssertUntouched(peer, socket, rcvNxt);
    }

    [Fact]
    [Trait("Rfc", "791 §3.1")]
    public void IPv4_VersionFive_IsAHeaderError()
    {
        var (peer, socket) = Established();
        SeqNumber rcvNxt = socket.Connection!.RcvNxt;
        byte[] d = Datagram(peer, Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: s_evil));
        d[0] = 0x55;
        RawPacket.FixHeaderChecksum(d);

        Inject(peer, d);

        Assert.Equal(1, peer.Stack.Counters.Ip.InHdrErrors);
        AssertUntouched(peer, socket, rcvNxt);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [Trait("Rfc", "9293 §3.1")]
    public void Tcp_DataOffsetBelowFive_IsAnInputError(int words)
    {
        var (peer, socket) = Established();
        SeqNumber rcvNxt = socket.Connection!.RcvNxt;
        RawTcp segment = Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: s_evil);
        segment.DataOffsetWords = words;

        Inject(peer, segment);

        Assert.Equal(1, peer.Stack.Counters.Tcp.InErrs);
        AssertUntouched(peer, socket, rcvNxt);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.1")]
    public void Tcp_DataOffsetBeyondTheSegment_IsAnInputError()
    {
        var (peer, socket) = Established();
        SeqNumber rcvNxt = socket.Connection!.RcvNxt;
        RawTcp segment = Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: [1, 2, 3, 4]);
        segment.DataOffsetWords = 15; // 60 bytes of header; the segment has 24

        Inject(peer, segment);

        Assert.Equal(1, peer.Stack.Counters.Tcp.InErrs);
        AssertUntouched(peer, socket, rcvNxt);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.1")]
    public void Tcp_BadChecksum_IsCounted()
    {
        var (peer, socket) = Established();
        SeqNumber rcvNxt = socket.Connection!.RcvNxt;
        RawTcp segment = Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: s_evil);
        segment.BadChecksum = true;

        Inject(peer, segment);

        Assert.Equal(1, peer.Stack.Counters.Tcp.InCsumErrors);
        AssertUntouched(peer, socket, rcvNxt);
    }

    public static TheoryData<string, byte[]> BadOptions() => new()
    {
        { "length 0", [TcpOptions.KindMss, 0, 0, 0] },
        { "length 1", [TcpOptions.KindTimestamp, 1, 0, 0] },
        { "overlong", [TcpOptions.KindTimestamp, 40, 1, 2, 3, 4, 5, 6, 7, 8] },
        { "unknown kind overlong", [99, 200, 0, 0] },
        { "kind without length", [TcpOptions.KindNop, TcpOptions.KindNop, TcpOptions.KindNop, TcpOptions.KindSack] },
        { "MSS of length 3", [TcpOptions.KindMss, 3, 5, 0] },
        { "SACK of length 3", [TcpOptions.KindSack, 3, 0, 0] },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    [Trait("Rfc", "9293 §3.2 MUST-7")]
    public void Tcp_IllegalOptionLength_IsDroppedWithoutHarm(string what, byte[] options)
    {
        var (peer, socket) = Established();
        SeqNumber rcvNxt = socket.Connection!.RcvNxt;

        Inject(peer, Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: s_evil, options: options));

        Assert.True(peer.Stack.Counters.Tcp.InErrs == 1, what);
        AssertUntouched(peer, socket, rcvNxt);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.2")]
    public void Tcp_JunkAfterEndOfOptionList_IsIgnored()
    {
        var (peer, socket) = Established();

        Inject(peer, Segment(peer, TcpFlags.Ack | TcpFlags.Psh, payload: "ok"u8.ToArray(), options: [TcpOptions.KindEnd, 0xDE, 0xAD, 0xBE]));

        Assert.Equal(2, socket.Connection!.ReceiveQueued);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.7.1")]
    public void Syn_MssZero_IsClampedToTheFloorAndSegmentsStayThatSmall()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 0 } };
        NetSocket socket = peer.Establish();
        peer.Sent();
        Assert.Equal(peer.Stack.Tcp.Settings.MinSendMss, socket.Connection!.Mss);
        socket.Blocking = false;
        socket.Send(new byte[1000]);
        for (int i = 0; i < 10; i++)
        {
            peer.Harness.Advance(TimeSpan.FromMilliseconds(50));
            var sent = peer.Sent();
            Assert.All(sent, s => Assert.InRange(s.PayloadLength, 0, peer.Stack.Tcp.Settings.MinSendMss));
            if (sent.Count > 0)
            {
                peer.Send(TcpFlags.Ack, sent.Max(s => s.Header.SequenceNumber + s.PayloadLength));
            }
        }

        Assert.Equal(0, socket.Connection.SendQueued); // all 1000 bytes went, 48 at a time
    }

    [Fact]
    [Trait("Rfc", "7323 §2.3")]
    public void Syn_WindowScaleFifteen_IsClampedToFourteen()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1460, WindowScale = 15 } };
        peer.RemotePort = 40001;
        // TcpOptions clamps when parsing, so write the option bytes by hand.
        var listener = new NetSocket(peer.Stack, System.Net.Sockets.SocketType.Stream);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, peer.LocalPort));
        listener.Listen(4);
        Inject(peer, new RawTcp
        {
            SourcePort = peer.RemotePort, DestinationPort = peer.LocalPort, Seq = peer.Nxt.Value, Flags = TcpFlags.Syn,
            Options = TcpOptionBytes.Concat(TcpOptionBytes.Mss(1460), TcpOptionBytes.WindowScale(15)),
        });
        TcpHeader synAck = peer.ExpectOne();
        Assert.True(synAck.Options.WindowScale.HasValue);
        peer.Nxt += 1;
        peer.Send(TcpFlags.Ack, synAck.SequenceNumber + 1, window: 1);
        listener.Blocking = false;
        NetSocket socket = listener.Accept();

        Assert.Equal(TcpOptions.MaxWindowScale, socket.Connection!.SendScale);
        Assert.Equal(1u << 14, socket.Connection.SendWindow); // window 1 scaled by 14, not 15
    }
}
