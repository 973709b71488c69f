namespace Wirestack.Links;

/// <summary>Per-device counters, named as <c>ethtool -S</c> and <c>ip -s link</c> show them (seed 004 §2.1).</summary>
public sealed class LinkCounters
{
    public long RxPackets;
    public long RxBytes;
    public long TxPackets;
    public long TxBytes;

    /// <summary>Frames lost because the receive ring was full (<c>rx_missed_errors</c>).</summary>
    public long RxMissed;

    /// <summary>Receive FIFO overruns (<c>rx_fifo_errors</c>); the ring counts its overflows here too.</summary>
    public long RxFifoErrors;

    /// <summary>Packets of a protocol the stack does not handle, dropped (<c>rx_nohandler</c>): IPv6 on a raw-IP link.</summary>
    public long RxNoHandler;

    /// <summary>Packets the device refused to send (over MTU, link down).</summary>
    public long TxDropped;

    /// <summary>Packets dropped by the link's own queue (a rate-limited simulated wire).</summary>
    public long TxQueueDrops;

    /// <summary>Large TCP segments (several MSS in one packet, <see cref="ILinkDevice.GsoMaxSize"/>) the device
    /// took for sending whole, for the other side to segment or take as they are (<c>tx_gso_packets</c>; each is
    /// also one of <see cref="TxPackets"/>).</summary>
    public long TxGsoPackets;

    /// <summary>Large TCP segments the device received whole from the other side's segmentation offload
    /// (<c>rx_gso_packets</c>; each is also one of <see cref="RxPackets"/>).</summary>
    public long RxGsoPackets;

    /// <summary>Received TCP segments that generic receive offload merged into the segment before them, so the
    /// stack's IP and TCP input saw one packet for several (<c>rx_gro_merged</c>; each is also one of
    /// <see cref="RxPackets"/>).</summary>
    public long RxGroMerged;

    public IReadOnlyDictionary<string, long> Snapshot() => new SortedDictionary<string, long>
    {
        ["rx_packets"] = RxPackets,
        ["rx_bytes"] = RxBytes,
        ["tx_packets"] = TxPackets,
        ["tx_bytes"] = TxBytes,
        ["rx_missed_errors"] = RxMissed,
        ["rx_fifo_errors"] = RxFifoErrors,
        ["rx_nohandler"] = RxNoHandler,
        ["tx_dropped"] = TxDropped,
        ["tx_queue_drops"] = TxQueueDrops,
        ["tx_gso_packets"] = TxGsoPackets,
        ["rx_gso_packets"] = RxGsoPackets,
        ["rx_gro_merged"] = RxGroMerged,
    };
}
