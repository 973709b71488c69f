using System.Net;
using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.Simulation.Fuzzing;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tests.Support;
using Wirestack.Wire;
using static Wirestack.Tests.Hostile.HostileInput;

namespace Wirestack.Tests.Hostile;

/// <summary>Fragment attacks: overlaps that would rewrite a header (RFC 1858, RFC 3128), tiny fragments, pieces
/// beyond 64 KiB, and a flood of incomplete datagrams, bounded by <c>IPv4Options.ReassemblyMaxBytes</c>.</summary>
public sealed class FragmentAttackTests
{
    private static NetSocket Listen(TcpPeer peer)
    {
        var listener = new NetSocket(peer.Stack, SocketType.Stream) { Blocking = false };
        listener.Bind(new IPEndPoint(IPAddress.Any, peer.LocalPort));
        listener.Listen(4);
        return listener;
    }

    private static byte[] Syn(TcpPeer peer, ushort port) => new RawTcp
    {
        SourcePort = peer.RemotePort, DestinationPort = port, Seq = peer.Nxt.Value, Flags = TcpFlags.Syn,
        Options = TcpOptionBytes.Concat(TcpOptionBytes.Mss(1460), TcpOptionBytes.SackPermitted(), TcpOptionBytes.Timestamp(1, 0)),
    }.Datagram(TcpPeer.RemoteAddress, peer.Harness.Local);

    [Fact]
    [Trait("Rfc", "1858 §3.2")]
    public void TinyFragments_TcpHeaderSplitInEightByteFragments_AreDropped()
    {
        var peer = new TcpPeer();
        Listen(peer);
        byte[] syn = Syn(peer, peer.LocalPort);
        int payload = syn.Length - 20;
        for (int offset = 0; offset < payload; offset += 8)
        {
            Inject(peer, RawPacket.Fragment(syn, offset, 8, moreFragments: offset + 8 < payload, id: 77));
        }

        // RFC 1858 direct method: a first fragment too short for the TCP header hides it from filters.
        peer.ExpectNothing();
        Assert.Equal(0, peer.Stack.Counters.Ip.ReasmOKs);
        Assert.True(peer.Stack.Counters.Ip.ReasmFails >= 1);
        Assert.Equal(0, peer.Stack.Tcp.ConnectionCount);
    }

    [Fact]
    [Trait("Rfc", "1858 §4.2")]
    public void FragmentAtOffsetEight_RewritingTheFlags_IsDropped()
    {
        var peer = new TcpPeer();
        Listen(peer);
        byte[] syn = Syn(peer, peer.LocalPort);

        Inject(peer, RawPacket.Fragment(syn, 0, 24, moreFragments: true, id: 78));
        Inject(peer, RawPacket.Fragment(syn, 8, 32, moreFragments: false, id: 78)); // indirect method: FO = 1

        peer.ExpectNothing();
        Assert.Equal(0, peer.Stack.Counters.Ip.ReasmOKs);
    }

    [Fact]
    [Trait("Rfc", "791 §3.2")]
    public void SmallButLegalFragments_AreReassembledAsOneSyn()
    {
        var peer = new TcpPeer();
        Listen(peer);
        byte[] syn = Syn(peer, peer.LocalPort);
        int payload = syn.Length - 20;

        Inject(peer, RawPacket.Fragment(syn, 0, 24, moreFragments: true, id: 79)); // the whole TCP header, and more
        for (int offset = 24; offset < payload; offset += 8)
        {
            Inject(peer, RawPacket.Fragment(syn, offset, 8, moreFragments: offset + 8 < payload, id: 79));
        }

        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, peer.ExpectOne().Flags);
        Assert.Equal(1, peer.Stack.Counters.Ip.ReasmOKs);
    }

    [Fact]
    [Trait("Rfc", "3128 §2")]
    public void OverlappingFragments_RewritingThePort_AreDroppedWhole()
    {
        var peer = new TcpPeer();
        Listen(peer);
        byte[] allowed = Syn(peer, 9999); // a port with nothing on it, as a filter would let it pass...
        byte[] rewrite = Syn(peer, peer.LocalPort); // ...then a second copy of fragment zero would rewrite it

        Inject(peer, RawPacket.Fragment(allowed, 0, 24, moreFragments: true, id: 5));
        Inject(peer, RawPacket.Fragment(rewrite, 0, 24, moreFragments: true, id: 5));
        Inject(peer, RawPacket.Fragment(allowed, 24, 100, moreFragments: false, id: 5));

        peer.ExpectNothing(); // neither a SYN-ACK from the listener nor a RST from port 9999
        Assert.Equal(0, peer.Stack.Tcp.ConnectionCount);
        Assert.Equal(1, peer.Stack.Counters.Ip.ReasmOverlaps);
        peer.Harness.Advance(peer.Stack.Options.Ip.ReassemblyTimeout); // the last piece began a datagram of its own
        Assert.Equal(0, peer.Stack.Budget.InUseFor(BudgetCause.Reassembly));
    }

    [Fact]
    [Trait("Rfc", "791 §3.2")]
    public void Fragment_EndingBeyond64KiB_IsRefused()
    {
        var peer = new TcpPeer();
        byte[] syn = Syn(peer, peer.LocalPort);

        Inject(peer, RawPacket.Fragment(syn, 0, 8, moreFragments: true, id: 9));
        byte[] tooFar = RawPacket.IPv4(TcpPeer.RemoteAddress, peer.Harness.Local, IPProtocol.Tcp, new byte[64], id: 9, fragmentOffsetBytes: 65528);
        Inject(peer, tooFar);

        peer.ExpectNothing();
        Assert.True(peer.Stack.Counters.Ip.ReasmFails >= 1);
        Assert.Equal(0, peer.Stack.Counters.Ip.ReasmOKs);
    }

    [Fact]
    [Trait("Rfc", "815")]
    public void ReassemblyFlood_ManyIncompleteDatagrams_IsBoundedAndExpires()
    {
        var options = new NetStackOptions();
        options.Ip.ReassemblyMaxBytes = 256 * 1024;
        options.Ip.ReassemblyMaxDatagrams = 100_000; // so that the byte bound is the one reached
        var peer = new TcpPeer(options);
        NetSocket socket = peer.Establish();
        peer.Sent();
        var reassembler = peer.Stack.Ip.Reassembler;
        long highest = 0;

        for (int i = 0; i < 5000; i++)
        {
            // first fragments of datagrams whose rest never comes, each with its own identification
            byte[] piece = RawPacket.IPv4(TcpPeer.RemoteAddress, peer.Harness.Local, IPProtocol.Udp, new byte[1400],
                id: (ushort)i, moreFragments: true);
            Inject(peer, piece);
            highest = Math.Max(highest, reassembler.BytesHeld);
            Assert.True(reassembler.BytesHeld <= options.Ip.ReassemblyMaxBytes);
            Assert.True(reassembler.DatagramCount <= options.Ip.ReassemblyMaxDatagrams);
            Assert.Equal(reassembler.BytesHeld, peer.Stack.Budget.InUseFor(BudgetCause.Reassembly));
        }

        Assert.InRange(highest, options.Ip.ReassemblyMaxBytes - 4096, options.Ip.ReassemblyMaxBytes);
        Assert.True(peer.Stack.Counters.Ip.ReasmFails > 4000, $"ReasmFails {peer.Stack.Counters.Ip.ReasmFails}");

        // The connection still works while the flood's fragments are held.
        peer.SendData("still alive"u8);
        Assert.Equal(11, socket.Connection!.ReceiveQueued);

        peer.Harness.Advance(options.Ip.ReassemblyTimeout + TimeSpan.FromSeconds(1));
        Assert.Equal(0, reassembler.BytesHeld);
        Assert.Equal(0, reassembler.DatagramCount);
        Assert.Equal(0, peer.Stack.Budget.InUseFor(BudgetCause.Reassembly));
    }
}
