using Wirestack.Simulation.Fuzzing;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Hostile;

/// <summary>Crafted datagrams for the connection a <see cref="TcpPeer"/> plays, built with <see cref="RawTcp"/> and
/// <see cref="RawPacket"/> so that every field can be wrong.</summary>
internal static class HostileInput
{
    /// <summary>A segment of the peer's connection; unless told otherwise at the peer's next sequence number,
    /// acknowledging everything the peer has received.</summary>
    public static RawTcp Segment(TcpPeer peer, TcpFlags flags, SeqNumber? seq = null, SeqNumber? ack = null, byte[]? payload = null,
        byte[]? options = null, ushort window = 65535) => new()
    {
        SourcePort = peer.RemotePort,
        DestinationPort = peer.LocalPort,
        Seq = (seq ?? peer.Nxt).Value,
        Ack = (ack ?? peer.Rcv).Value,
        Flags = flags,
        Window = window,
        Options = options ?? [],
        Payload = payload ?? [],
    };

    public static void Inject(TcpPeer peer, RawTcp segment) =>
        peer.Harness.Inject(segment.Datagram(TcpPeer.RemoteAddress, peer.Harness.Local));

    public static void Inject(TcpPeer peer, byte[] datagram) => peer.Harness.Inject(datagram);

    /// <summary>The datagram of <paramref name="segment"/> from the peer, to be damaged by the test.</summary>
    public static byte[] Datagram(TcpPeer peer, RawTcp segment) => segment.Datagram(TcpPeer.RemoteAddress, peer.Harness.Local);

    /// <summary>Bytes whose value says where they are in the stream (so reordering or loss shows).</summary>
    public static byte[] Pattern(long offset, int length)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)((offset + i) * 131 >> 3);
        }

        return bytes;
    }
}
