using System.Diagnostics.CodeAnalysis;
using Wirestack.Buffers;
using Wirestack.Time;

namespace Wirestack.Links;

/// <summary>
/// A capture decorator (smoltcp's <c>PcapWriter</c> middleware): every packet transmitted through it is written to
/// the capture before it is handed to the inner device, and every packet received from the inner device is written
/// as it is handed up, stamped with the <c>now</c> of the call. Everything else passes straight through. The writer
/// is not owned: dispose it yourself when the capture ends.
/// </summary>
public sealed class PcapLink : ILinkDevice
{
    private readonly ILinkDevice _inner;
    private readonly PcapWriter _writer;

    /// <exception cref="ArgumentException">The writer's medium is not the inner device's.</exception>
    public PcapLink(ILinkDevice inner, PcapWriter writer)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(writer);
        if (writer.Medium != inner.Medium)
        {
            throw new ArgumentException($"the capture is for {writer.Medium} but device {inner.Name} carries {inner.Medium}", nameof(writer));
        }

        _inner = inner;
        _writer = writer;
    }

    public ILinkDevice Inner => _inner;

    public string Name => _inner.Name;

    public LinkMedium Medium => _inner.Medium;

    public int Mtu => _inner.Mtu;

    /// <summary>The device's offload: a capture does not change what TCP may send (large segments are captured
    /// whole, as tcpdump shows them on a NIC with TSO).</summary>
    public int GsoMaxSize => _inner.GsoMaxSize;

    public LinkCounters Counters => _inner.Counters;

    public Instant? PollAt => _inner.PollAt;

    public void Transmit(PacketBuffer packet, Instant now)
    {
        ArgumentNullException.ThrowIfNull(packet);
        try
        {
            _writer.Write(packet.Span, now);
        }
        finally
        {
            // A failing capture must not leak the packet: it still goes out, then the error surfaces.
            _inner.Transmit(packet, now);
        }
    }

    public bool TryReceive(Instant now, [NotNullWhen(true)] out PacketBuffer? packet)
    {
        if (!_inner.TryReceive(now, out packet))
        {
            return false;
        }

        try
        {
            _writer.Write(packet.Span, now);
        }
        catch
        {
            packet.Dispose();
            packet = null;
            throw;
        }

        return true;
    }

    public override string ToString() => $"pcap({_inner})";
}
