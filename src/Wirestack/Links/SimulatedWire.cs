using System.Diagnostics.CodeAnalysis;
using Wirestack.Buffers;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Links;

/// <summary>
/// A full-duplex point-to-point wire between two ports, <see cref="A"/> and <see cref="B"/>, each direction with its
/// own <see cref="LinkImpairments"/>. A transmitted packet is copied into a buffer from the wire's own pool (unless
/// <see cref="CopyPackets"/> is off), its fate
/// (queue drop, loss, corruption, duplication, reordering, delay) is drawn at send time from the injected seeded
/// <see cref="Random"/>, and it waits in flight until its arrival time. Nothing here reads a clock: the caller (a
/// simulator) asks for <see cref="NextDeliveryAt"/> and calls <see cref="DeliverDue"/>; a port's
/// <see cref="SimulatedPort.TryReceive"/> also brings in its own packets that are due. Same seed and same traffic
/// (packets and the instants they are sent and received at) give the same outcome, byte for byte.
/// </summary>
/// <remarks>
/// No allocation per packet on the steady path: in-flight packets are ordered by (arrival time, send sequence);
/// those that keep their place (every packet not held back for reordering: their arrival times never decrease) sit
/// in a ring in that order, the held-back ones in a priority queue, and the next delivery is the earlier of the two
/// heads (O(1) per packet instead of O(log n) over thousands in flight). The serialization queue is a ring of
/// pre-sized arrays, and wire buffers come from
/// the wire's <see cref="Pool"/>, which reuses them. The collections grow (amortised) only when more packets are in
/// flight than ever before. Not safe for concurrent use: one simulator loop drives it.
/// </remarks>
public sealed class SimulatedWire
{
    /// <summary>Default byte budget of the wire's own buffer pool: 64 MiB.</summary>
    public const long DefaultMemoryLimitBytes = 64L * 1024 * 1024;

    private const int InitialInFlightCapacity = 256;

    private readonly Random _random;
    private readonly Direction _aToB;
    private readonly Direction _bToA;
    private long _sequence;

    /// <param name="random">The seeded source of every impairment decision.</param>
    /// <param name="aToB">Impairments of packets sent by <see cref="A"/> (and A's MTU).</param>
    /// <param name="bToA">Impairments of packets sent by <see cref="B"/> (and B's MTU).</param>
    /// <param name="rxRingCapacity">Receive ring slots of each port. Defaults to 256.</param>
    /// <param name="name">The wire's name; the ports are named <c>name.a</c> and <c>name.b</c>.</param>
    /// <param name="memoryLimitBytes">Budget of the wire's buffer pool. Defaults to 64 MiB.</param>
    public SimulatedWire(
        Random random,
        LinkImpairments aToB,
        LinkImpairments bToA,
        int rxRingCapacity = 256,
        string name = "wire",
        long memoryLimitBytes = DefaultMemoryLimitBytes)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(aToB);
        ArgumentNullException.ThrowIfNull(bToA);
        ArgumentNullException.ThrowIfNull(name);
        aToB.Validate();
        bToA.Validate();
        _random = random;
        Name = name;
        Pool = new PacketBufferPool(new MemoryBudget(memoryLimitBytes));
        _aToB = new Direction(aToB, CountersAToB);
        _bToA = new Direction(bToA, CountersBToA);
        A = new SimulatedPort(this, name + ".a", isA: true, rxRingCapacity);
        B = new SimulatedPort(this, name + ".b", isA: false, rxRingCapacity);
        _aToB.Receiver = B;
        _bToA.Receiver = A;
    }

    public string Name { get; }

    public SimulatedPort A { get; }

    public SimulatedPort B { get; }

    /// <summary>Impairments of the A → B direction. May be changed between packets (for example to cut the
    /// link); packets already in flight keep the fate they were given.</summary>
    public LinkImpairments AToB
    {
        get => _aToB.Impairments;
        set => _aToB.Impairments = Validated(value);
    }

    /// <summary>Impairments of the B → A direction. See <see cref="AToB"/>.</summary>
    public LinkImpairments BToA
    {
        get => _bToA.Impairments;
        set => _bToA.Impairments = Validated(value);
    }

    /// <summary>The wire's own buffer pool (and, through it, its memory budget): every packet in flight or waiting
    /// in a port's receive ring is leased from here until the receiver disposes it.</summary>
    public PacketBufferPool Pool { get; }

    /// <summary>Both directions together.</summary>
    public WireCounters Counters { get; } = new();

    public WireCounters CountersAToB { get; } = new();

    public WireCounters CountersBToA { get; } = new();

    /// <summary>Whether a transmitted packet is copied into a buffer of the wire's own <see cref="Pool"/> (the
    /// default, what a NIC's DMA does: the sender's buffer and its budget charge are released at once). When false,
    /// the sender's buffer itself is handed to the receiver, as the kernel's loopback hands over its skb: no copy,
    /// and the buffer (with the sender's budget charge) stays leased until the receiving stack disposes it. The wire's
    /// pool then serves only duplicates. Impairments work the same either way. Set it before traffic flows.
    /// When false the ports also take packets whose payload is still in the sender's send queue
    /// (<see cref="SimulatedPort.AcceptsReferencedPayload"/>), and the receiving host's poll returns buffers to the
    /// sender's pool and releases its send-queue chunks: only for hosts that one thread drives (the benchmark's
    /// simulator), never for stacks run from different threads.</summary>
    public bool CopyPackets { get; set; } = true;

    /// <summary>Segmentation offload, as the kernel's loopback has (<see cref="ILinkDevice.GsoMaxSize"/>): TCP
    /// datagrams up to this size are carried whole even when larger than the MTU, as one packet (0, the default:
    /// none; the MTU applies to every packet). Impairments then act on the large packet as a whole, so this alone is
    /// for in-memory links where packets are not meant to model a real line (the benchmark's wire); with
    /// <see cref="HardwareSegmentation"/> the line carries MTU-sized frames instead, as a real NIC's would.</summary>
    public int GsoMaxSize { get; set; }

    /// <summary>Whether a large TCP segment (<see cref="GsoMaxSize"/>) is cut into MTU-sized frames as it goes on
    /// the line, as a NIC's TCP segmentation offload cuts it (<see cref="TcpSegmentation"/>; <c>ethtool -K dev tso
    /// on</c>), instead of being carried whole. The sending stack still hands over one large segment, but the line
    /// carries, queues, serialises, loses and reorders each frame on its own, exactly as it would carry the segments
    /// of a sender without the offload; the receiving port gets frames (and merges them again with
    /// <see cref="GenericReceiveOffload"/>). Off by default. Set it before traffic flows.</summary>
    public bool HardwareSegmentation { get; set; }

    /// <summary>Receive interrupt moderation of both ports (Linux's <c>ethtool -C dev rx-usecs</c>): a port holds
    /// the packets that arrive for it and is ready to be polled this long after the first of them arrived; the poll
    /// then takes every packet that has arrived by then. Zero (the default): each packet is ready when it arrives.
    /// The packets on the wire (their timing, queueing, loss) are the same either way; only when the receiving
    /// host sees them changes.</summary>
    public TimeSpan RxCoalesce
    {
        get => _rxCoalesce;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _rxCoalesce = value;
            RxCoalesceMicroseconds = value.Ticks / TimeSpan.TicksPerMicrosecond;
        }
    }

    private TimeSpan _rxCoalesce;

    /// <summary><see cref="RxCoalesce"/> in whole microseconds, as the ports read it on every poll.</summary>
    internal long RxCoalesceMicroseconds { get; private set; }

    /// <summary>Generic receive offload on both ports (<see cref="ILinkDevice.GenericReceiveOffload"/>): the
    /// receiving stack merges consecutive segments of a flow taken in one poll. Off by default.</summary>
    public bool GenericReceiveOffload { get; set; }

    /// <summary>Optional observer called with every packet as it is delivered, with its arrival time (for a
    /// wire-level capture). It must not keep the span.</summary>
    public Action<ReadOnlySpan<byte>, Instant>? Tap { get; set; }

    /// <summary>Packets handed to either port for transmission so far, whatever their fate (a simulator watches it
    /// to see that something may have become due).</summary>
    public long TransmitCalls { get; private set; }

    /// <summary>Packets in flight in both directions.</summary>
    public int InFlightCount => _aToB.InFlightCount + _bToA.InFlightCount;

    /// <summary>When the next packet in flight (either direction) arrives, or null when none is in flight.</summary>
    public Instant? NextDeliveryAt => Instant.Earliest(_aToB.NextArrival, _bToA.NextArrival);

    /// <summary>Moves every packet whose arrival time is at or before <paramref name="now"/> into its receiving
    /// port's <see cref="RxRing"/>, in (arrival time, send sequence) order across both directions.</summary>
    public void DeliverDue(Instant now)
    {
        while (true)
        {
            bool aDue = _aToB.TryPeekDue(now, out ArrivalKey aKey);
            bool bDue = _bToA.TryPeekDue(now, out ArrivalKey bKey);
            if (!aDue && !bDue)
            {
                return;
            }

            Deliver(aDue && (!bDue || aKey.CompareTo(bKey) < 0) ? _aToB : _bToA);
        }
    }

    internal LinkImpairments OutgoingImpairments(SimulatedPort port) => Outgoing(port).Impairments;

    /// <summary>Delivers the due packets of the direction that ends at <paramref name="port"/>.</summary>
    internal void DeliverDueTo(SimulatedPort port, Instant now)
    {
        Direction direction = Incoming(port);
        while (direction.TryPeekDue(now, out _))
        {
            Deliver(direction);
        }
    }

    internal Instant? NextArrivalAt(SimulatedPort port) => Incoming(port).NextArrival;

    /// <summary>The send path of <see cref="SimulatedPort.Transmit"/>; takes ownership of <paramref name="packet"/>.</summary>
    internal void Transmit(SimulatedPort sender, PacketBuffer packet, Instant now)
    {
        TransmitCalls++;
        Direction direction = Outgoing(sender);
        LinkImpairments impairments = direction.Impairments;
        int length = packet.Length;
        if (length > impairments.Mtu)
        {
            if (length > GsoMaxSize || !IsTcp(packet.Head))
            {
                sender.Counters.TxDropped++;
                packet.Dispose();
                return;
            }

            if (HardwareSegmentation)
            {
                TransmitSegmented(sender, direction, packet, now);
                return;
            }
        }

        if (!HasQueueRoom(sender, direction, length, now))
        {
            packet.Dispose();
            return;
        }

        PacketBuffer? copy = packet;
        if (CopyPackets)
        {
            if (!TryCopy(packet, out copy))
            {
                sender.Counters.TxDropped++;
                direction.Counters.NoBufferDrops++;
                Counters.NoBufferDrops++;
                packet.Dispose();
                return;
            }

            packet.Dispose();
        }

        if (copy.GsoSize > 0)
        {
            sender.Counters.TxGsoPackets++; // a large segment, carried whole
        }

        PutOnLine(sender, direction, copy, now);
    }

    /// <summary>TCP segmentation offload (<see cref="HardwareSegmentation"/>): cuts <paramref name="packet"/> (a
    /// large TCP segment) into frames and puts each on the line as if it had been sent alone; disposes the packet.
    /// A segment the cut cannot read is refused like an oversized packet (<c>tx_dropped</c>).</summary>
    /// <remarks>When the large segment's payload is held by reference (send-queue chunks), each frame holds its part
    /// of those pieces by reference too, with the partial checksum such a packet carries, as Linux's GSO segments
    /// share the large skb's frags; otherwise each frame is written whole, its checksum computed here.</remarks>
    private void TransmitSegmented(SimulatedPort sender, Direction direction, PacketBuffer packet, Instant now)
    {
        bool referenced = packet.HasReferencedPayload;
        ReadOnlySpan<byte> large = referenced ? packet.Head : packet.Span;
        if (!TcpSegmentation.TryGetLayout(large, packet.Length, packet.GsoSize > 0 ? packet.GsoSize : int.MaxValue, direction.Impairments.Mtu,
                out TcpSegmentation.Layout layout) || (referenced && large.Length != layout.HeadersLength))
        {
            sender.Counters.TxDropped++;
            packet.Dispose();
            return;
        }

        sender.Counters.TxGsoPackets++; // taken as one large segment, leaving as frames
        int frames = layout.FrameCount;
        int headers = layout.HeadersLength;
        for (int i = 0; i < frames; i++)
        {
            int length = layout.FrameLength(i);
            if (!HasQueueRoom(sender, direction, length, now))
            {
                continue;
            }

            if (!Pool.TryRent(length, BudgetCause.PacketRx, out PacketBuffer? frame))
            {
                sender.Counters.TxDropped++;
                direction.Counters.NoBufferDrops++;
                Counters.NoBufferDrops++;
                continue;
            }

            if (!referenced)
            {
                TcpSegmentation.WriteFrame(large, layout, i, frame.Append(length));
            }
            else
            {
                Span<byte> frameHeaders = frame.Append(headers);
                int payloadOffset = i * layout.SegmentSize;
                int payload = length - headers;
                if (!packet.TryLendPayloadRange(payloadOffset, payload, frame, headers - layout.IPHeaderLength))
                {
                    sender.Counters.TxDropped++; // cannot happen for a layout read from this packet; never sent short
                    frame.Dispose();
                    continue;
                }

                TcpSegmentation.WriteFrameHeaders(large, layout, i, frameHeaders, payloadSum: 0);
            }

            frame.ChecksumTrusted = true; // the wire computed it (or completes it where the payload is joined)
            PutOnLine(sender, direction, frame, now);
        }

        packet.Dispose();
    }

    /// <summary>Whether the rate limiter's queue has room for <paramref name="length"/> more bytes; when not, counts
    /// the drop (the caller disposes the packet).</summary>
    private bool HasQueueRoom(SimulatedPort sender, Direction direction, int length, Instant now)
    {
        LinkImpairments impairments = direction.Impairments;
        if (impairments.RateBitsPerSecond <= 0 || direction.HasQueueRoom(now.Microseconds * 1000, length, impairments.QueueLimitBytes))
        {
            return true;
        }

        sender.Counters.TxQueueDrops++;
        direction.Counters.QueueDrops++;
        Counters.QueueDrops++;
        return false;
    }

    /// <summary>Serialises a packet the wire owns at the link's rate, counts it sent, and hands it to the
    /// impairments, which put it in flight (or lose it).</summary>
    private void PutOnLine(SimulatedPort sender, Direction direction, PacketBuffer copy, Instant now)
    {
        LinkImpairments impairments = direction.Impairments;
        int length = copy.Length;
        long rate = impairments.RateBitsPerSecond;

        // The packet leaves when its last bit is on the line (at once on an unlimited link).
        long departUs = rate > 0 ? CeilingDivide(direction.Serialize(now.Microseconds * 1000, length, rate), 1000) : now.Microseconds;
        sender.Counters.TxPackets++;
        sender.Counters.TxBytes += length;
        direction.Counters.Sent++;
        direction.Counters.SentBytes += length;
        Counters.Sent++;
        Counters.SentBytes += length;
        if (copy.HasReferencedPayload)
        {
            direction.Counters.SentByReference++;
            Counters.SentByReference++;
        }

        Impair(direction, impairments, copy, departUs);
    }

    /// <summary>Draws loss, corruption, duplication, reordering and jitter for one packet on the wire, and puts the
    /// survivors in flight. The draws happen in a fixed order, each only when its probability is not zero.</summary>
    private void Impair(Direction direction, LinkImpairments impairments, PacketBuffer copy, long departUs)
    {
        if (impairments.Loss > 0 && _random.NextDouble() < impairments.Loss)
        {
            direction.Counters.Lost++;
            Counters.Lost++;
            copy.Dispose();
            return;
        }

        if (impairments.Corrupt > 0 && _random.NextDouble() < impairments.Corrupt && copy.Length > 0)
        {
            Span<byte> bytes = copy.Span;
            bytes[_random.Next(bytes.Length)] ^= (byte)(1 << _random.Next(8));
            copy.ChecksumTrusted = false; // the receiver must find the damage
            direction.Counters.Corrupted++;
            Counters.Corrupted++;
        }

        bool duplicate = impairments.Duplicate > 0 && _random.NextDouble() < impairments.Duplicate;
        bool reorder = impairments.Reorder > 0 && _random.NextDouble() < impairments.Reorder;
        long arrivalUs = departUs + Microseconds(impairments.Delay);
        long jitterUs = Microseconds(impairments.Jitter);
        if (jitterUs > 0)
        {
            arrivalUs += _random.NextInt64(jitterUs + 1);
        }

        if (reorder)
        {
            // Held back: it does not move the FIFO floor, so the packets sent after it may overtake it.
            arrivalUs += Microseconds(impairments.ReorderDelay);
            direction.Counters.Reordered++;
            Counters.Reordered++;
        }
        else
        {
            arrivalUs = Math.Max(arrivalUs, direction.FifoFloorUs);
            direction.FifoFloorUs = arrivalUs;
        }

        direction.Enqueue(copy, new ArrivalKey(arrivalUs, _sequence++), reorder);
        if (!duplicate)
        {
            return;
        }

        if (TryCopy(copy, out PacketBuffer? twin))
        {
            direction.Enqueue(twin, new ArrivalKey(arrivalUs, _sequence++), reorder);
            direction.Counters.Duplicated++;
            Counters.Duplicated++;
        }
        else
        {
            direction.Counters.NoBufferDrops++;
            Counters.NoBufferDrops++;
        }
    }

    private void Deliver(Direction direction)
    {
        PacketBuffer packet = direction.Dequeue(out ArrivalKey key);
        packet.Timestamp = key.ArrivalUs;
        direction.Counters.Delivered++;
        direction.Counters.DeliveredBytes += packet.Length;
        Counters.Delivered++;
        Counters.DeliveredBytes += packet.Length;
        try
        {
            Tap?.Invoke(packet.Span, new Instant(key.ArrivalUs));
        }
        finally
        {
            direction.Receiver!.RxRing.TryEnqueue(packet);
        }
    }

    private bool TryCopy(PacketBuffer original, [NotNullWhen(true)] out PacketBuffer? copy)
    {
        ReadOnlySpan<byte> bytes = original.Span;
        if (!Pool.TryRent(bytes.Length, BudgetCause.PacketRx, out copy))
        {
            return false;
        }

        bytes.CopyTo(copy.Append(bytes.Length));
        copy.ChecksumTrusted = original.ChecksumTrusted; // the same bytes
        copy.GsoSize = original.GsoSize;
        return true;
    }

    private Direction Outgoing(SimulatedPort port) => port.IsA ? _aToB : _bToA;

    private Direction Incoming(SimulatedPort port) => port.IsA ? _bToA : _aToB;

    private static LinkImpairments Validated(LinkImpairments impairments)
    {
        ArgumentNullException.ThrowIfNull(impairments);
        impairments.Validate();
        return impairments;
    }

    /// <summary>An IPv4 datagram carrying TCP (the protocol field of the header).</summary>
    private static bool IsTcp(ReadOnlySpan<byte> datagram) => datagram.Length > 9 && datagram[9] == 6;

    private static long Microseconds(TimeSpan span) => span.Ticks / TimeSpan.TicksPerMicrosecond;

    /// <summary>Division rounded up, for a positive divisor.</summary>
    private static long CeilingDivide(long value, long divisor)
    {
        long quotient = Math.DivRem(value, divisor, out long remainder);
        return remainder > 0 ? quotient + 1 : quotient;
    }

    /// <summary>Orders packets in flight: by arrival time, then by the order they were sent.</summary>
    private readonly record struct ArrivalKey(long ArrivalUs, long Sequence) : IComparable<ArrivalKey>
    {
        public int CompareTo(ArrivalKey other) =>
            ArrivalUs != other.ArrivalUs ? ArrivalUs.CompareTo(other.ArrivalUs) : Sequence.CompareTo(other.Sequence);
    }

    /// <summary>One direction's state: its impairments, packets in flight, and the rate limiter's queue.</summary>
    private sealed class Direction
    {
        private long[] _serializedAtNs = new long[InitialInFlightCapacity];
        private int[] _serializedLengths = new int[InitialInFlightCapacity];
        private int _head;
        private int _count;
        private long _queuedBytes;
        private long _busyUntilNs = long.MinValue;

        public Direction(LinkImpairments impairments, WireCounters counters)
        {
            Impairments = impairments;
            Counters = counters;
        }

        public LinkImpairments Impairments { get; set; }

        public WireCounters Counters { get; }

        public SimulatedPort? Receiver { get; set; }

        // Packets in flight in (arrival, sequence) order: a ring for those that keep their place (their keys only
        // grow, as the FIFO floor makes their arrival times non-decreasing), a priority queue for the held back.
        private (PacketBuffer Packet, ArrivalKey Key)[] _fifo = new (PacketBuffer, ArrivalKey)[InitialInFlightCapacity];
        private int _fifoHead;
        private int _fifoCount;
        private readonly PriorityQueue<PacketBuffer, ArrivalKey> _held = new();

        public int InFlightCount => _fifoCount + _held.Count;

        /// <summary>Arrival time of the last packet that was not held back: later ones never arrive before it.</summary>
        public long FifoFloorUs { get; set; } = long.MinValue;

        public Instant? NextArrival => TryPeek(out ArrivalKey key) ? new Instant(key.ArrivalUs) : null;

        public bool TryPeekDue(Instant now, out ArrivalKey key) => TryPeek(out key) && key.ArrivalUs <= now.Microseconds;

        /// <summary>Puts a packet in flight; <paramref name="heldBack"/>: its arrival does not follow the FIFO floor.</summary>
        public void Enqueue(PacketBuffer packet, ArrivalKey key, bool heldBack)
        {
            if (heldBack)
            {
                _held.Enqueue(packet, key);
                return;
            }

            if (_fifoCount == _fifo.Length)
            {
                var larger = new (PacketBuffer, ArrivalKey)[_fifo.Length * 2];
                for (int i = 0; i < _fifoCount; i++)
                {
                    larger[i] = _fifo[(_fifoHead + i) % _fifo.Length];
                }

                _fifo = larger;
                _fifoHead = 0;
            }

            int tail = _fifoHead + _fifoCount;
            _fifo[tail >= _fifo.Length ? tail - _fifo.Length : tail] = (packet, key);
            _fifoCount++;
        }

        /// <summary>The key of the next packet to arrive, if any.</summary>
        private bool TryPeek(out ArrivalKey key)
        {
            bool held = _held.TryPeek(out _, out ArrivalKey heldKey);
            if (_fifoCount > 0)
            {
                key = _fifo[_fifoHead].Key;
                if (held && heldKey.CompareTo(key) < 0)
                {
                    key = heldKey;
                }

                return true;
            }

            key = heldKey;
            return held;
        }

        /// <summary>Takes the next packet to arrive (there must be one).</summary>
        public PacketBuffer Dequeue(out ArrivalKey key)
        {
            if (_fifoCount > 0 && !(_held.TryPeek(out _, out ArrivalKey heldKey) && heldKey.CompareTo(_fifo[_fifoHead].Key) < 0))
            {
                (PacketBuffer packet, key) = _fifo[_fifoHead];
                _fifo[_fifoHead] = default;
                _fifoHead = _fifoHead + 1 == _fifo.Length ? 0 : _fifoHead + 1;
                _fifoCount--;
                return packet;
            }

            _held.TryDequeue(out PacketBuffer? held, out key);
            return held!;
        }

        /// <summary>Whether <paramref name="length"/> more bytes fit in the queue of packets not yet fully
        /// serialized (the one on the line included).</summary>
        public bool HasQueueRoom(long nowNs, int length, int limitBytes)
        {
            while (_count > 0 && _serializedAtNs[_head] <= nowNs)
            {
                _queuedBytes -= _serializedLengths[_head];
                _head = _head + 1 == _serializedAtNs.Length ? 0 : _head + 1;
                _count--;
            }

            return _queuedBytes + length <= limitBytes;
        }

        /// <summary>Queues a packet behind the ones before it and returns when its last bit is on the line.</summary>
        public long Serialize(long nowNs, int length, long rateBitsPerSecond)
        {
            long startNs = Math.Max(nowNs, _busyUntilNs);
            long durationNs = CeilingDivide(length * 8L * 1_000_000_000L, rateBitsPerSecond);
            _busyUntilNs = startNs + durationNs;
            if (_count == _serializedAtNs.Length)
            {
                Grow();
            }

            int tail = (_head + _count) % _serializedAtNs.Length;
            _serializedAtNs[tail] = _busyUntilNs;
            _serializedLengths[tail] = length;
            _count++;
            _queuedBytes += length;
            return _busyUntilNs;
        }

        private void Grow()
        {
            long[] times = new long[_serializedAtNs.Length * 2];
            int[] lengths = new int[times.Length];
            for (int i = 0; i < _count; i++)
            {
                int from = (_head + i) % _serializedAtNs.Length;
                times[i] = _serializedAtNs[from];
                lengths[i] = _serializedLengths[from];
            }

            _serializedAtNs = times;
            _serializedLengths = lengths;
            _head = 0;
        }
    }
}
