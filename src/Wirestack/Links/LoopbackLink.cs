using System.Diagnostics.CodeAnalysis;
using Wirestack.Buffers;
using Wirestack.Time;

namespace Wirestack.Links;

/// <summary>
/// The loopback device (<c>lo</c>): what a stack transmits it receives back, the same buffer, without a copy.
/// The queue between the two is bounded like Linux's backlog (<c>netdev_max_backlog</c>, 1000); a packet that finds
/// it full is dropped and counted (<c>rx_missed_errors</c>, <c>rx_fifo_errors</c>).
/// </summary>
public sealed class LoopbackLink : ILinkDevice
{
    /// <summary>Default MTU: 65535, the largest IPv4 datagram (Linux's <c>lo</c> uses 65536).</summary>
    public const int DefaultMtu = 65535;

    /// <summary>Default queue length: 1000 packets, as Linux's <c>netdev_max_backlog</c>.</summary>
    public const int DefaultQueueCapacity = 1000;

    private readonly RxRing _queue;

    /// <param name="name">Device name. Defaults to <c>lo</c>.</param>
    /// <param name="mtu">Largest packet accepted, 68..65535. Defaults to 65535.</param>
    /// <param name="queueCapacity">Packets the queue holds. Defaults to 1000.</param>
    public LoopbackLink(string name = "lo", int mtu = DefaultMtu, int queueCapacity = DefaultQueueCapacity)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (mtu < LinkImpairments.MinimumMtu || mtu > LinkImpairments.MaximumMtu)
        {
            throw new ArgumentOutOfRangeException(nameof(mtu), mtu, $"MTU must be between {LinkImpairments.MinimumMtu} and {LinkImpairments.MaximumMtu}");
        }

        Name = name;
        Mtu = mtu;
        _queue = new RxRing(queueCapacity, Counters);
    }

    public string Name { get; }

    public LinkMedium Medium => LinkMedium.Ip;

    public int Mtu { get; }

    public LinkCounters Counters { get; } = new();

    /// <summary>Packets queued and not yet received.</summary>
    public int Count => _queue.Count;

    /// <summary>The time the oldest queued packet was sent (it is ready at once), or null when the queue is empty.</summary>
    public Instant? PollAt => _queue.TryPeek(out PacketBuffer? waiting) ? new Instant(waiting.Timestamp) : null;

    /// <summary>Queues <paramref name="packet"/> itself for reception (no copy) and stamps it with
    /// <paramref name="now"/>. Over the MTU it is dropped (<c>tx_dropped</c>); a full queue drops it on the
    /// receive side.</summary>
    public void Transmit(PacketBuffer packet, Instant now)
    {
        ArgumentNullException.ThrowIfNull(packet);
        if (packet.Length > Mtu)
        {
            Counters.TxDropped++;
            packet.Dispose();
            return;
        }

        Counters.TxPackets++;
        Counters.TxBytes += packet.Length;
        packet.Timestamp = now.Microseconds;
        _queue.TryEnqueue(packet);
    }

    public bool TryReceive(Instant now, [NotNullWhen(true)] out PacketBuffer? packet) => _queue.TryDequeue(out packet);

    public override string ToString() => Name;
}
