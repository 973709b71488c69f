using Wirestack.Buffers;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.IP;

/// <summary>The per-datagram state of <see cref="Reassembler"/> and the age-ordered list that expiry walks.</summary>
public sealed partial class Reassembler
{
    /// <summary>A datagram object for <paramref name="key"/>, not yet listed: it joins the table only once its first
    /// fragment is stored, so a refused fragment leaves nothing behind. Objects are reused, so a steady flow of
    /// fragmented datagrams allocates nothing.</summary>
    private Datagram RentDatagram(FragmentKey key, Instant deadline)
    {
        Datagram entry = _spare.Count > 0 ? _spare.Pop() : new Datagram();
        entry.Key = key;
        entry.Deadline = deadline;
        return entry;
    }

    /// <summary>Adds a datagram to the table and to the list, which is kept in deadline order. Deadlines are
    /// "arrival + timeout" and arrivals are (nearly) monotonic, so the scan from the newest end stops at once.</summary>
    private void Enlist(Datagram entry)
    {
        _datagrams.Add(entry.Key, entry);
        entry.Listed = true;
        Datagram? before = _newest;
        while (before is not null && before.Deadline > entry.Deadline)
        {
            before = before.Older;
        }

        entry.Older = before;
        entry.Newer = before is null ? _oldest : before.Newer;
        if (before is null)
        {
            _oldest = entry;
        }
        else
        {
            before.Newer = entry;
        }

        if (entry.Newer is null)
        {
            _newest = entry;
        }
        else
        {
            entry.Newer.Older = entry;
        }
    }

    /// <summary>Releases a datagram's pieces to the pool and its bytes to the budget, and recycles it.</summary>
    private void Discard(Datagram entry)
    {
        if (entry.Listed)
        {
            _datagrams.Remove(entry.Key);
            if (entry.Older is null)
            {
                _oldest = entry.Newer;
            }
            else
            {
                entry.Older.Newer = entry.Newer;
            }

            if (entry.Newer is null)
            {
                _newest = entry.Older;
            }
            else
            {
                entry.Newer.Older = entry.Older;
            }
        }

        BytesHeld -= entry.Charged;
        entry.Reset();
        if (_spare.Count < _spareLimit)
        {
            _spare.Push(entry);
        }
    }

    private struct Piece
    {
        public int Offset;
        public PacketBuffer Buffer;

        public readonly int End => Offset + Buffer.Length;
    }

    private sealed class Datagram
    {
        /// <summary>Pieces sorted by offset, never overlapping.</summary>
        private Piece[] _pieces = new Piece[4];

        /// <summary>Fragment zero's header as received plus its first 8 data octets (RFC 792, Time Exceeded).</summary>
        public readonly byte[] FirstPrefix = new byte[60 + 8];

        public FragmentKey Key;
        public Instant Deadline;
        public Datagram? Older;
        public Datagram? Newer;
        public bool Listed;
        public int Count;

        /// <summary>Data length set by the last fragment (MF clear), or -1 before it arrives.</summary>
        public int TotalLength = -1;

        public int ReceivedBytes;
        public int Charged;
        public bool HaveFirst;
        public byte Tos;
        public byte Ttl;
        public bool DontFragment;
        public int FirstPrefixLength;

        /// <summary>No overlaps are held, so the data is whole when the bytes received add up to the length the
        /// last fragment set. This replaces RFC 815's hole list with one comparison.</summary>
        public bool IsComplete => TotalLength >= 0 && ReceivedBytes == TotalLength;

        /// <summary>
        /// Checks a fragment against the pieces held. <see cref="ReassemblyOutcome.Pending"/> means "store it at
        /// <paramref name="index"/>" or, with <paramref name="duplicate"/>, "ignore it"; anything else means the
        /// whole datagram is to be discarded.
        /// </summary>
        public ReassemblyOutcome Check(int offset, ReadOnlySpan<byte> payload, bool more, out int index, out bool duplicate)
        {
            duplicate = false;
            int end = offset + payload.Length;
            index = LowerBound(offset);

            // DEVIATION from RFC 5722 §4's "any overlap": an exact copy (same offset, length, MF and bytes) of a held
            // fragment is ignored, as Linux does, because links and retransmitting middleboxes duplicate packets and
            // a true copy cannot change what is reassembled. Same range with other bytes or MF is an overlap.
            if (index < Count && _pieces[index].Offset == offset && _pieces[index].Buffer.Length == payload.Length)
            {
                bool heldIsLast = TotalLength == _pieces[index].End;
                duplicate = heldIsLast == !more && payload.SequenceEqual(_pieces[index].Buffer.Span);
                return duplicate ? ReassemblyOutcome.Pending : ReassemblyOutcome.DroppedOverlap;
            }

            // RFC 5722 §4 (for IPv6; Linux does the same for IPv4): if any fragment overlaps another, "the entire
            // datagram ... MUST be silently discarded". Overlaps are how RFC 1858 §4 and RFC 3128 smuggle a
            // different transport header past a filter, and how "teardrop" broke reassemblers.
            if ((index < Count && _pieces[index].Offset < end) || (index > 0 && _pieces[index - 1].End > offset))
            {
                return ReassemblyOutcome.DroppedOverlap;
            }

            // RFC 791 §3.2: the fragment with MF clear fixes the datagram's length; nothing may lie beyond it, and a
            // second last fragment may not set a different one.
            if (!more)
            {
                bool conflicts = TotalLength >= 0 && TotalLength != end;
                bool dataBeyond = Count > 0 && _pieces[Count - 1].End > end;
                return conflicts || dataBeyond ? ReassemblyOutcome.DroppedBadFragment : ReassemblyOutcome.Pending;
            }

            return TotalLength >= 0 && end >= TotalLength ? ReassemblyOutcome.DroppedBadFragment : ReassemblyOutcome.Pending;
        }

        public void Insert(int index, int offset, PacketBuffer buffer)
        {
            if (Count == _pieces.Length)
            {
                Array.Resize(ref _pieces, _pieces.Length * 2);
            }

            Array.Copy(_pieces, index, _pieces, index + 1, Count - index);
            _pieces[index] = new Piece { Offset = offset, Buffer = buffer };
            Count++;
            ReceivedBytes += buffer.Length;
        }

        public void RememberFirst(IPv4Packet fragment)
        {
            HaveFirst = true;
            Tos = fragment.Tos;
            Ttl = fragment.Ttl;
            DontFragment = fragment.DontFragment;
            int length = Math.Min(fragment.HeaderLength + 8, fragment.TotalLength);
            fragment.Bytes[..length].CopyTo(FirstPrefix);
            FirstPrefixLength = length;
        }

        public void CopyDataTo(PacketBuffer destination)
        {
            for (int i = 0; i < Count; i++)
            {
                PacketBuffer piece = _pieces[i].Buffer;
                piece.Span.CopyTo(destination.Append(piece.Length));
            }
        }

        /// <summary>Returns every piece to the pool and forgets the datagram.</summary>
        public void Reset()
        {
            for (int i = 0; i < Count; i++)
            {
                _pieces[i].Buffer.Dispose();
                _pieces[i] = default;
            }

            Count = 0;
            Key = default;
            Deadline = default;
            Older = null;
            Newer = null;
            Listed = false;
            TotalLength = -1;
            ReceivedBytes = 0;
            Charged = 0;
            HaveFirst = false;
            Tos = 0;
            Ttl = 0;
            DontFragment = false;
            FirstPrefixLength = 0;
        }

        /// <summary>The index of the first piece whose offset is at least <paramref name="offset"/>.</summary>
        private int LowerBound(int offset)
        {
            int low = 0;
            int high = Count;
            while (low < high)
            {
                int mid = (low + high) >>> 1;
                if (_pieces[mid].Offset < offset)
                {
                    low = mid + 1;
                }
                else
                {
                    high = mid;
                }
            }

            return low;
        }
    }
}
