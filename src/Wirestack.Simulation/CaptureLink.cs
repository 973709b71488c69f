using System.Diagnostics.CodeAnalysis;
using Wirestack.Buffers;
using Wirestack.Links;
using Wirestack.Time;

namespace Wirestack.Simulation;

/// <summary>A link whose far end is a test: packets the stack sends are kept (with their time) for inspection, and
/// the test injects packets as if they arrived from the wire.</summary>
public sealed class CaptureLink : ILinkDevice
{
    private readonly Queue<PacketBuffer> _rx = new();

    public CaptureLink(string name = "tun0", int mtu = 1500)
    {
        Name = name;
        Mtu = mtu;
    }

    public string Name { get; }

    public LinkMedium Medium => LinkMedium.Ip;

    public int Mtu { get; set; }

    public LinkCounters Counters { get; } = new();

    /// <summary>Segmentation offload (<see cref="ILinkDevice.GsoMaxSize"/>): TCP datagrams up to this size are taken
    /// whole, larger than <see cref="Mtu"/> (0, the default: none).</summary>
    public int GsoMaxSize { get; set; }

    /// <summary>Every datagram the stack sent, oldest first, with the time it left.</summary>
    public List<(Instant Time, byte[] Bytes)> Sent { get; } = [];

    public void Transmit(PacketBuffer packet, Instant now)
    {
        Counters.TxPackets++;
        Counters.TxBytes += packet.Length;
        Sent.Add((now, packet.Span.ToArray()));
        packet.Dispose();
    }

    /// <summary>Queues <paramref name="datagram"/> as received; <paramref name="gsoSize"/> marks it a large segment
    /// of that MSS (<see cref="PacketBuffer.GsoSize"/>).</summary>
    public void Inject(ReadOnlySpan<byte> datagram, int gsoSize = 0)
    {
        PacketBuffer packet = PacketBuffer.FromBytes(datagram);
        packet.GsoSize = gsoSize;
        _rx.Enqueue(packet);
    }

    public bool TryReceive(Instant now, [NotNullWhen(true)] out PacketBuffer? packet)
    {
        if (_rx.TryDequeue(out packet))
        {
            Counters.RxPackets++;
            Counters.RxBytes += packet.Length;
            return true;
        }

        return false;
    }

    public Instant? PollAt => _rx.Count > 0 ? Instant.Zero : null;
}
