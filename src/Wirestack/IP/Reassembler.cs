using Wirestack.Buffers;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.IP;

/// <summary>
/// IPv4 fragment reassembly. Read first: RFC 791 §3.2 (reassembly procedure; fragments belong together when source,
/// destination, protocol and identification match), RFC 1122 §3.3.2 (timeout, ICMP Time Exceeded), RFC 815 (hole
/// descriptors, which this replaces by a sorted piece list plus a byte count, because overlaps are refused), RFC 1858
/// and RFC 3128 (tiny and overlapping fragment attacks), RFC 5722 (discard a datagram on any overlap) and RFC 8900
/// (why fragmentation is fragile).
/// <para>
/// Each accepted fragment's payload is copied into its own buffer rented from the pool under
/// <see cref="BudgetCause.Reassembly"/>, so memory follows what was received, never 64 KiB per datagram. Limits:
/// <see cref="MaxBytes"/> (bytes charged for held fragments, Linux's <c>ipfrag_high_thresh</c>),
/// <see cref="MaxDatagrams"/> and <see cref="MaxFragmentsPerDatagram"/>; every operation is O(log n + n) in the
/// number of pieces of one datagram, which the last bounds.
/// </para>
/// <para>
/// Policy when full: the NEW fragment is refused (<see cref="ReassemblyOutcome.DroppedTooManyDatagrams"/> or
/// <see cref="ReassemblyOutcome.DroppedNoBuffers"/>) and datagrams already held are never evicted, as Linux does
/// since 4.17 and as the design's budget rule asks ("no packet already accepted is lost"). A flood of incomplete
/// datagrams thus holds at most <see cref="MaxBytes"/> until <see cref="Expire(Instant)"/> clears it.
/// </para>
/// Not thread-safe: used under the stack's lock. Time comes only from the <see cref="Instant"/> arguments, which must
/// not go backwards by more than the timeout for <see cref="NextExpiry"/> to stay exact.
/// </summary>
public sealed partial class Reassembler
{
    /// <summary>RFC 791 §3.1, Total Length: a datagram is at most 65535 octets. Rebuilt with a 20-octet header, its
    /// data may therefore end at offset 65515 at most.</summary>
    public const int MaxDataLength = 65535 - IPv4Header.Length;

    /// <summary>Pieces one datagram may be made of. A 65515-octet datagram needs 45 fragments at MTU 1500; any MTU
    /// of at least 1044 fits the largest datagram in 64.</summary>
    public const int DefaultMaxFragmentsPerDatagram = 64;

    /// <summary>Linux's <c>ipfrag_time</c>: 30 s.</summary>
    /// <remarks>RFC 1122 §3.3.2: the reassembly timeout is a fixed value (not taken from the TTL), recommended to lie
    /// between 60 and 120 seconds.</remarks>
    // DEVIATION from RFC 1122 §3.3.2's recommended 60-120 s: 30 s by default, as Linux, because a shorter hold frees
    // memory sooner under fragment floods; the caller may pass any timeout.
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Linux's <c>ipfrag_high_thresh</c>: 4 MiB.</summary>
    public const int DefaultMaxBytes = 4 * 1024 * 1024;

    public const int DefaultMaxDatagrams = 64;

    private readonly PacketBufferPool _pool;
    private readonly Dictionary<FragmentKey, Datagram> _datagrams;
    private readonly Stack<Datagram> _spare = new();
    private readonly int _spareLimit;
    private Datagram? _oldest;
    private Datagram? _newest;
    private int _maxFragments = DefaultMaxFragmentsPerDatagram;

    /// <param name="pool">Where held fragments and finished datagrams are rented from (and charged to its budget).</param>
    /// <param name="timeout">How long after its first fragment arrived a datagram may take to complete.</param>
    /// <param name="maxBytes">Most bytes (as charged to the budget) held for incomplete datagrams.</param>
    /// <param name="maxDatagrams">Most incomplete datagrams held; 0 refuses every fragment.</param>
    public Reassembler(PacketBufferPool pool, TimeSpan timeout, int maxBytes, int maxDatagrams)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(maxDatagrams);
        _pool = pool;
        Timeout = timeout;
        MaxBytes = maxBytes;
        MaxDatagrams = maxDatagrams;
        _spareLimit = Math.Min(maxDatagrams, 256);
        _datagrams = new Dictionary<FragmentKey, Datagram>(Math.Min(maxDatagrams, 1024));
    }

    public TimeSpan Timeout { get; }

    public int MaxBytes { get; }

    public int MaxDatagrams { get; }

    /// <summary>More pieces than this make the datagram <see cref="ReassemblyOutcome.DroppedBadFragment"/>.</summary>
    public int MaxFragmentsPerDatagram
    {
        get => _maxFragments;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, (MaxDataLength / 8) + 1);
            _maxFragments = value;
        }
    }

    /// <summary>Bytes charged to the budget for fragments held now (headroom included, like Linux's truesize).</summary>
    public int BytesHeld { get; private set; }

    /// <summary>Incomplete datagrams held now.</summary>
    public int DatagramCount => _datagrams.Count;

    /// <summary>Datagrams discarded by <see cref="Expire(Instant)"/> (Linux's <c>ReasmTimeout</c>).</summary>
    public long Timeouts { get; private set; }

    /// <summary>Exact duplicate fragments ignored.</summary>
    public long Duplicates { get; private set; }

    /// <summary>Datagrams completed (Linux's <c>ReasmOKs</c>).</summary>
    public long Reassembled { get; private set; }

    /// <summary>When the oldest held datagram times out, or null when nothing is held.</summary>
    public Instant? NextExpiry => _oldest?.Deadline;

    /// <summary>
    /// Takes in one fragment. The caller has validated the header (view lengths and checksum); the fragment's bytes
    /// are copied, so the caller keeps its buffer. On <see cref="ReassemblyOutcome.Complete"/>,
    /// <paramref name="datagram"/> is a new buffer owned by the caller, holding the whole datagram behind a rebuilt
    /// 20-octet header (offset 0, MF clear, first fragment's TOS, TTL and DF, options dropped).
    /// </summary>
    /// <remarks>
    /// An exact duplicate of a held fragment (same offset, length, MF and bytes) is ignored and reported as
    /// <see cref="ReassemblyOutcome.Pending"/>: networks duplicate packets, and a true copy changes nothing. Any
    /// other overlap, identical bytes or not, discards the whole datagram.
    /// </remarks>
    public ReassemblyOutcome Add(IPv4Packet fragment, Instant now, out PacketBuffer? datagram)
    {
        datagram = null;
        ReadOnlySpan<byte> payload = fragment.Payload;
        int offset = fragment.FragmentOffset;
        bool more = fragment.MoreFragments;
        ReassemblyOutcome verdict = CheckAlone(fragment.Protocol, offset, payload.Length, more);
        if (verdict != ReassemblyOutcome.Pending)
        {
            return verdict;
        }

        var key = new FragmentKey(fragment.Source, fragment.Destination, fragment.Protocol, fragment.Identification);
        if (!_datagrams.TryGetValue(key, out Datagram? entry))
        {
            if (_datagrams.Count >= MaxDatagrams)
            {
                return ReassemblyOutcome.DroppedTooManyDatagrams;
            }

            entry = RentDatagram(key, now + Timeout);
        }

        verdict = entry.Check(offset, payload, more, out int index, out bool duplicate);
        if (verdict == ReassemblyOutcome.Pending && !duplicate && entry.Count >= _maxFragments)
        {
            verdict = ReassemblyOutcome.DroppedBadFragment;
        }

        if (verdict != ReassemblyOutcome.Pending)
        {
            Discard(entry);
            return verdict;
        }

        if (duplicate)
        {
            Duplicates++;
            return ReassemblyOutcome.Pending;
        }

        if (!TryStore(entry, index, offset, payload))
        {
            Discard(entry);
            return ReassemblyOutcome.DroppedNoBuffers;
        }

        if (offset == 0)
        {
            entry.RememberFirst(fragment);
        }

        if (!more)
        {
            entry.TotalLength = offset + payload.Length;
        }

        if (!entry.Listed)
        {
            Enlist(entry);
        }

        return entry.IsComplete ? Assemble(entry, out datagram) : ReassemblyOutcome.Pending;
    }

    /// <summary>Discards every datagram whose first fragment arrived <see cref="Timeout"/> or more before
    /// <paramref name="now"/>, and returns how many. The caller counts them (<c>ReasmFails</c>).</summary>
    public int Expire(Instant now) => Expire(now, null);

    /// <summary>As <see cref="Expire(Instant)"/>, and tells <paramref name="timedOut"/> about each discarded datagram
    /// whose fragment zero had arrived, so the caller may send ICMP Time Exceeded (RFC 1122 §3.3.2).</summary>
    public int Expire(Instant now, ReassemblyTimedOut? timedOut)
    {
        int count = 0;

        // RFC 791 §3.2, reassembly procedure: when a buffer identifier's timer runs out, all its reassembly resources
        // are released.
        // The deadline itself counts as expired, so a caller that polls at NextExpiry always makes progress.
        while (_oldest is { } oldest && oldest.Deadline <= now)
        {
            if (timedOut is not null && oldest.HaveFirst)
            {
                timedOut(oldest.Key.Source, oldest.Key.Destination, oldest.FirstPrefix.AsSpan(0, oldest.FirstPrefixLength));
            }

            Discard(oldest);
            count++;
        }

        Timeouts += count;
        return count;
    }

    /// <summary>Discards everything held (stack shutdown) without counting timeouts; returns how many datagrams.</summary>
    public int Clear()
    {
        int count = 0;
        while (_oldest is { } oldest)
        {
            Discard(oldest);
            count++;
        }

        return count;
    }

    /// <summary>Checks that need only the fragment itself. A failure drops just this fragment.</summary>
    private static ReassemblyOutcome CheckAlone(byte protocol, int offset, int length, bool more)
    {
        // RFC 791 §3.1: no datagram is longer than 65535 octets; a fragment reaching past that (the "ping of death")
        // can never be part of a valid datagram.
        if (offset + length > MaxDataLength)
        {
            return ReassemblyOutcome.DroppedTooLarge;
        }

        // RFC 1858 §3.2 (indirect method) and §4.2: drop a TCP fragment whose fragment offset field is 1. No sender
        // fragments a TCP header at 8 octets; only an attacker overwriting the flags of the first fragment does.
        if (protocol == IPProtocol.Tcp && offset == 8)
        {
            return ReassemblyOutcome.DroppedTinyFragment;
        }

        // RFC 1858 §3.2 (direct method) and RFC 3128: a first fragment too short to hold the transport header is an
        // attempt to hide that header from filters. TCP's fixed header is 20 octets; UDP's and ICMP's are 8, and RFC
        // 791 §3.2 makes 8 octets the smallest fragment of any protocol.
        if (offset == 0 && more && length < (protocol == IPProtocol.Tcp ? 20 : 8))
        {
            return ReassemblyOutcome.DroppedTinyFragment;
        }

        // RFC 791 §3.2: fragments carry "NFB" 8-octet blocks, so every fragment but the last is a non-zero multiple
        // of 8 octets. An empty fragment carries nothing and is never produced by fragmentation.
        if (length == 0 || (more && length % 8 != 0))
        {
            return ReassemblyOutcome.DroppedBadFragment;
        }

        return ReassemblyOutcome.Pending;
    }

    private bool TryStore(Datagram entry, int index, int offset, ReadOnlySpan<byte> payload)
    {
        // The pool charges its headroom plus the capacity asked for; the byte limit counts the same.
        int charge = _pool.Headroom + payload.Length;
        if (charge > MaxBytes - BytesHeld || !_pool.TryRent(payload.Length, BudgetCause.Reassembly, out PacketBuffer? piece))
        {
            return false;
        }

        payload.CopyTo(piece.Append(payload.Length));
        entry.Insert(index, offset, piece);
        entry.Charged += charge;
        BytesHeld += charge;
        return true;
    }

    /// <summary>RFC 791 §3.2, reassembly: once every octet from 0 to the end set by the last fragment is in, the
    /// datagram is delivered with offset 0 and MF clear and the resources are released.</summary>
    private ReassemblyOutcome Assemble(Datagram entry, out PacketBuffer? datagram)
    {
        datagram = null;
        int total = entry.TotalLength;
        bool prepend = _pool.Headroom >= IPv4Header.Length;
        if (!_pool.TryRent(prepend ? total : IPv4Header.Length + total, BudgetCause.Reassembly, out PacketBuffer? whole))
        {
            Discard(entry);
            return ReassemblyOutcome.DroppedNoBuffers;
        }

        FragmentKey key = entry.Key;
        var header = new IPv4Header(key.Source, key.Destination, key.Protocol, total, entry.Ttl, entry.Tos,
            key.Identification, entry.DontFragment, MoreFragments: false, FragmentOffset: 0);
        if (prepend)
        {
            entry.CopyDataTo(whole);
            header.WriteTo(whole.Prepend(IPv4Header.Length));
        }
        else
        {
            header.WriteTo(whole.Append(IPv4Header.Length));
            entry.CopyDataTo(whole);
        }

        Discard(entry);
        Reassembled++;
        datagram = whole;
        return ReassemblyOutcome.Complete;
    }

    private readonly record struct FragmentKey(IPv4Address Source, IPv4Address Destination, byte Protocol, ushort Identification);
}
