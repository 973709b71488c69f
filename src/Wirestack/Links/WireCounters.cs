namespace Wirestack.Links;

/// <summary>
/// What a <see cref="SimulatedWire"/> did to the packets it carried, for one direction or for both together
/// (<see cref="SimulatedWire.Counters"/>). The ports' own <see cref="LinkCounters"/> hold what the devices saw.
/// Conservation: <c>Sent + Duplicated = Lost + Delivered + packets still in flight</c>.
/// </summary>
public sealed class WireCounters
{
    /// <summary>Packets put on the wire (passed the MTU check, the queue and buffer allocation).</summary>
    public long Sent;

    public long SentBytes;

    /// <summary>Of <see cref="Sent"/>, packets whose payload was still held by reference, in the sender's send queue
    /// (<see cref="Buffers.PacketBuffer.HasReferencedPayload"/>: a wire that hands buffers over takes them so).</summary>
    public long SentByReference;

    /// <summary>Packets lost to <see cref="LinkImpairments.Loss"/>.</summary>
    public long Lost;

    /// <summary>Extra copies made by <see cref="LinkImpairments.Duplicate"/>.</summary>
    public long Duplicated;

    /// <summary>Packets held back by <see cref="LinkImpairments.Reorder"/>.</summary>
    public long Reordered;

    /// <summary>Packets with a bit flipped by <see cref="LinkImpairments.Corrupt"/>.</summary>
    public long Corrupted;

    /// <summary>Packets dropped because the rate limiter's queue was full.</summary>
    public long QueueDrops;

    /// <summary>Packets (or duplicate copies) dropped because the wire's own memory budget was spent.</summary>
    public long NoBufferDrops;

    /// <summary>Packets handed to the receiving port (its ring may still drop them: see its rx_missed_errors).</summary>
    public long Delivered;

    public long DeliveredBytes;

    public IReadOnlyDictionary<string, long> Snapshot() => new SortedDictionary<string, long>
    {
        ["sent"] = Sent,
        ["sent_bytes"] = SentBytes,
        ["sent_by_reference"] = SentByReference,
        ["lost"] = Lost,
        ["duplicated"] = Duplicated,
        ["reordered"] = Reordered,
        ["corrupted"] = Corrupted,
        ["queue_drops"] = QueueDrops,
        ["no_buffer_drops"] = NoBufferDrops,
        ["delivered"] = Delivered,
        ["delivered_bytes"] = DeliveredBytes,
    };
}
