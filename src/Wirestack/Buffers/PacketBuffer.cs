using System.Buffers.Binary;
using System.Diagnostics;
using Wirestack.Wire;

namespace Wirestack.Buffers;

/// <summary>
/// One packet's bytes with reserved headroom, so that each layer on the way out writes its header in front of the
/// payload without copying it (<see cref="Prepend"/>), and each layer on the way in steps over its header
/// (<see cref="TrimFront"/>). Owned by exactly one holder at a time; <see cref="Dispose"/> gives it back to its pool.
/// </summary>
/// <remarks>
/// The payload may be held by reference instead (<see cref="AttachPayload"/>): TCP output points a segment at its
/// bytes in the send queue, as Linux's skb frags point at the socket's pages, with the transport checksum left
/// for whoever needs it (Linux's CHECKSUM_PARTIAL). Only <see cref="Head"/> and <see cref="ReferencedPayload"/> see
/// the two parts; everything else sees one packet: <see cref="Span"/>, <see cref="Append"/> and the other members
/// that need the bytes in one piece first copy the payload in behind the head and complete the checksum
/// (<see cref="Materialize"/>), so a consumer written for whole packets never sees the difference.
/// </remarks>
public sealed class PacketBuffer : IDisposable
{
    private readonly PacketBufferPool? _pool;
    private byte[] _array;
    private int _start;
    private int _length;
    private BudgetCause _cause;
    private int _charged;
    private bool _leased;

    internal PacketBuffer(PacketBufferPool? pool)
    {
        _pool = pool;
        _array = Array.Empty<byte>();
    }

    /// <summary>A buffer that belongs to no pool and no budget (tests, tools).</summary>
    public static PacketBuffer FromBytes(ReadOnlySpan<byte> bytes, int headroom = 0)
    {
        var buffer = new PacketBuffer(null) { _array = new byte[headroom + bytes.Length], _start = headroom, _length = bytes.Length, _leased = true };
        bytes.CopyTo(buffer._array.AsSpan(headroom));
        return buffer;
    }

    /// <summary>The bytes of the packet, from the outermost header written so far to the end (a payload held by
    /// reference is copied in first: <see cref="Materialize"/>).</summary>
    public Span<byte> Span
    {
        get
        {
            if (_payload is not null)
            {
                Materialize();
            }

            return _array.AsSpan(_start, _length);
        }
    }

    public Memory<byte> Memory
    {
        get
        {
            if (_payload is not null)
            {
                Materialize();
            }

            return _array.AsMemory(_start, _length);
        }
    }

    /// <summary>The packet's length, a payload held by reference included.</summary>
    public int Length => _length + _payloadLength;

    /// <summary>The bytes held in this buffer: the whole packet, or its headers when the payload is held by
    /// reference (<see cref="ReferencedPayload"/> follows them).</summary>
    public Span<byte> Head => _array.AsSpan(_start, _length);

    /// <summary>The payload held by reference behind <see cref="Head"/> when it is one piece, or empty when there is
    /// none. A payload in several pieces (<see cref="ReferencedFragmentCount"/>) is read with
    /// <see cref="ReferencedFragment"/> or <see cref="CopyTo"/>.</summary>
    public ReadOnlySpan<byte> ReferencedPayload
    {
        get
        {
            if (_moreCount > 0)
            {
                throw new InvalidOperationException($"the payload is held in {1 + _moreCount} pieces: read them with ReferencedFragment");
            }

            return _payload is null ? default : _payload.AsSpan(_payloadOffset, _firstLength);
        }
    }

    /// <summary>Whether the payload is held by reference (<see cref="AttachPayload"/>).</summary>
    public bool HasReferencedPayload => _payload is not null;

    /// <summary>How many pieces the payload held by reference is in (0 when none): one per send-queue chunk it
    /// spans, as an skb has one frag per page.</summary>
    public int ReferencedFragmentCount => _payload is null ? 0 : 1 + _moreCount;

    /// <summary>Piece <paramref name="index"/> of the payload held by reference, in order.</summary>
    public ReadOnlySpan<byte> ReferencedFragment(int index)
    {
        if (index == 0 && _payload is not null)
        {
            return _payload.AsSpan(_payloadOffset, _firstLength);
        }

        if ((uint)(index - 1) >= (uint)_moreCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"piece {index} of {ReferencedFragmentCount}");
        }

        Fragment f = _more![index - 1];
        return f.Array.AsSpan(f.Offset, f.Length);
    }

    /// <summary>
    /// Makes <paramref name="length"/> bytes of <paramref name="array"/> from <paramref name="offset"/> this packet's
    /// payload, behind the head, without copying them; <paramref name="lease"/> keeps the array from being reused
    /// until the packet is done with it (released at <see cref="Dispose"/> or <see cref="Materialize"/>). The TCP
    /// checksum of the transport header <paramref name="transportHeaderLength"/> bytes before the head's end covers
    /// the header and pseudo-header only (<see cref="TcpHeader.WriteWithoutPayloadTo"/>): the payload's sum is added when the bytes
    /// are joined. The buffer keeps tailroom for the payload, so joining never fails.
    /// </summary>
    public void AttachPayload(byte[] array, int offset, int length, ChunkLease lease, int transportHeaderLength)
    {
        ArgumentNullException.ThrowIfNull(array);
        ArgumentNullException.ThrowIfNull(lease);
        if (_payload is not null)
        {
            throw new InvalidOperationException("the packet already holds a payload by reference");
        }

        if (length <= 0 || length > Tailroom || transportHeaderLength < 20 || transportHeaderLength > _length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"{length} B referenced behind {_length} B of head with {Tailroom} B of tailroom");
        }

        _payload = array;
        _payloadOffset = offset;
        _firstLength = length;
        _payloadLength = length;
        _payloadLease = lease;
        _transportFromEnd = transportHeaderLength;
    }

    /// <summary>The most pieces a payload held by reference may be in (Linux's MAX_SKB_FRAGS).</summary>
    public const int MaxReferencedFragments = 17;

    /// <summary>
    /// Adds <paramref name="length"/> bytes of <paramref name="array"/> from <paramref name="offset"/> behind the
    /// payload already held by reference (<see cref="AttachPayload"/>), held by <paramref name="lease"/> likewise: a
    /// segment whose bytes span send-queue chunks. The buffer keeps tailroom for the whole payload.
    /// </summary>
    public void AppendPayloadFragment(byte[] array, int offset, int length, ChunkLease lease)
    {
        ArgumentNullException.ThrowIfNull(array);
        ArgumentNullException.ThrowIfNull(lease);
        if (_payload is null)
        {
            throw new InvalidOperationException("no payload held by reference to add a piece to (AttachPayload first)");
        }

        if (length <= 0 || _payloadLength + length > Tailroom || 1 + _moreCount >= MaxReferencedFragments)
        {
            throw new ArgumentOutOfRangeException(nameof(length),
                $"{length} B more behind {_payloadLength} B referenced in {1 + _moreCount} pieces, with {Tailroom} B of tailroom");
        }

        _more ??= new Fragment[4];
        if (_moreCount == _more.Length)
        {
            Array.Resize(ref _more, Math.Min(2 * _more.Length, MaxReferencedFragments - 1));
        }

        _more[_moreCount++] = new Fragment(array, offset, length, lease);
        _payloadLength += length;
    }

    /// <summary>
    /// Makes bytes [<paramref name="offset"/>, +<paramref name="length"/>) of the payload held by reference
    /// <paramref name="destination"/>'s payload by reference too, in the pieces they lie in, each with a hold of its
    /// own on its chunk (as <see cref="AttachPayload"/> with <paramref name="transportHeaderLength"/>), and returns
    /// true: a NIC's TSO cutting a frame out of a large segment without copying it, as Linux's GSO segments share
    /// the large skb's frags. False, and nothing attached, when there is no such range or the destination already
    /// holds a payload by reference.
    /// </summary>
    public bool TryLendPayloadRange(int offset, int length, PacketBuffer destination, int transportHeaderLength)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (_payload is null || destination._payload is not null || offset < 0 || length <= 0 || offset + length > _payloadLength)
        {
            return false;
        }

        int pieceStart = 0, lent = 0;
        for (int i = 0; lent < length; i++)
        {
            Fragment piece = Piece(i);
            int from = offset + lent - pieceStart; // where the range continues in this piece
            if (from < piece.Length)
            {
                int n = Math.Min(piece.Length - from, length - lent);
                piece.Lease.Acquire();
                if (lent == 0)
                {
                    destination.AttachPayload(piece.Array, piece.Offset + from, n, piece.Lease, transportHeaderLength);
                }
                else
                {
                    destination.AppendPayloadFragment(piece.Array, piece.Offset + from, n, piece.Lease);
                }

                lent += n;
            }

            pieceStart += piece.Length;
        }

        return true;
    }

    /// <summary>Copies a payload held by reference in behind the head, completes the TCP checksum with its sum, and
    /// releases the reference: the packet is one piece again. Nothing to do when it is already.</summary>
    public void Materialize()
    {
        if (_payload is null)
        {
            return;
        }

        int headEnd = _start + _length;
        ulong payloadSum = InternetChecksum.CopyAndAccumulate(_payload.AsSpan(_payloadOffset, _firstLength), _array.AsSpan(headEnd, _firstLength));
        int at = _firstLength;
        for (int i = 0; i < _moreCount; i++)
        {
            Fragment f = _more![i];
            ulong pieceSum = InternetChecksum.CopyAndAccumulate(f.Array.AsSpan(f.Offset, f.Length), _array.AsSpan(headEnd + at, f.Length));
            payloadSum += (at & 1) == 0 ? InternetChecksum.Fold(pieceSum) : InternetChecksum.ShiftByOneByte(pieceSum); // RFC 1071 §2(B)
            at += f.Length;
        }
        int tcpStart = headEnd - _transportFromEnd;
        if (_mergedHeader)
        {
            // GRO rewrote the header for the merged segment: the whole checksum is computed afresh, over the
            // pseudo-header (the addresses end the option-less IPv4 header just before the TCP header) and segment.
            Span<byte> tcp = _array.AsSpan(tcpStart, _transportFromEnd + _payloadLength);
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], 0);
            var source = new IPv4Address(BinaryPrimitives.ReadUInt32BigEndian(_array.AsSpan(tcpStart - 8)));
            var destination = new IPv4Address(BinaryPrimitives.ReadUInt32BigEndian(_array.AsSpan(tcpStart - 4)));
            ulong sum = InternetChecksum.PseudoHeader(source, destination, IPProtocol.Tcp, tcp.Length);
            sum = InternetChecksum.Accumulate(tcp[.._transportFromEnd], sum) + InternetChecksum.Fold(payloadSum);
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InternetChecksum.Finish(sum));
        }
        else
        {
            // The checksum field (offset 16 of the TCP header) holds the header and pseudo-header's sum (see
            // AttachPayload); the payload starts at an even offset of the segment, so its sum adds as it is.
            InternetChecksum.AddToChecksumField(_array.AsSpan(tcpStart + 16, 2), payloadSum);
        }

        _length += _payloadLength;
        ReleasePayload();
    }

    /// <summary>Moves the payload held by reference, and the hold on it, to <paramref name="destination"/> (no
    /// payload of its own, room behind its head for it): GRO moving a segment into a larger buffer.</summary>
    public void MovePayloadTo(PacketBuffer destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (_payload is null || destination._payload is not null || destination.Tailroom < _payloadLength)
        {
            throw new InvalidOperationException("no payload held by reference to move, or no room for it");
        }

        destination._payload = _payload;
        destination._payloadOffset = _payloadOffset;
        destination._firstLength = _firstLength;
        destination._payloadLength = _payloadLength;
        destination._payloadLease = _payloadLease;
        destination._transportFromEnd = _transportFromEnd;
        destination._mergedHeader = _mergedHeader;
        (destination._more, _more) = (_more, destination._more); // the pieces' array changes hands, nothing is allocated
        destination._moreCount = _moreCount;
        _moreCount = 0;
        ForgetPayload(); // the holds moved with it
    }

    /// <summary>
    /// When both payloads are held by reference, the buffer has room to join both and the pieces fit, makes
    /// <paramref name="next"/>'s payload continue this one's without copying it and returns true: a piece that
    /// continues this payload's last in the same array (the next segment from the same send-queue chunk) extends it,
    /// the others are added with holds of their own (<paramref name="next"/> keeps its holds until it is disposed).
    /// GRO merging without copying.
    /// </summary>
    public bool TryAppendReferencedPayload(PacketBuffer next)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (_payload is null || next._payload is null || Tailroom < _payloadLength + next._payloadLength)
        {
            return false;
        }

        Fragment last = Piece(_moreCount);
        bool continues = ReferenceEquals(last.Array, next._payload) && next._payloadOffset == last.Offset + last.Length;
        int added = 1 + next._moreCount - (continues ? 1 : 0);
        if (1 + _moreCount + added > MaxReferencedFragments)
        {
            return false;
        }

        for (int i = 0; i <= next._moreCount; i++)
        {
            Fragment piece = next.Piece(i);
            if (i == 0 && continues)
            {
                if (_moreCount == 0)
                {
                    _firstLength += piece.Length;
                }
                else
                {
                    _more![_moreCount - 1].Length += piece.Length;
                }

                _payloadLength += piece.Length;
                continue;
            }

            piece.Lease.Acquire();
            AppendPayloadFragment(piece.Array, piece.Offset, piece.Length, piece.Lease);
        }

        return true;
    }

    private Fragment Piece(int index) => index == 0 ? new Fragment(_payload!, _payloadOffset, _firstLength, _payloadLease!) : _more![index - 1];

    /// <summary>GRO merged segments into this one and rewrote its headers (an option-less IPv4 header right before
    /// the TCP header): the TCP checksum is computed afresh if the payload is ever joined.</summary>
    public void MarkMergedHeader()
    {
        if (_payload is null)
        {
            throw new InvalidOperationException("only a packet whose payload is held by reference defers its checksum");
        }

        _mergedHeader = true;
    }

    private void ReleasePayload()
    {
        ChunkLease? lease = _payloadLease;
        for (int i = 0; i < _moreCount; i++)
        {
            _more![i].Lease.Release();
            _more[i] = default;
        }

        _moreCount = 0;
        ForgetPayload();
        lease?.Release();
    }

    private void ForgetPayload()
    {
        Debug.Assert(_moreCount == 0, "pieces forgotten without their holds released or moved");
        _payload = null;
        _payloadOffset = 0;
        _firstLength = 0;
        _payloadLength = 0;
        _payloadLease = null;
        _transportFromEnd = 0;
        _mergedHeader = false;
    }

    /// <summary>Copies the packet's bytes from <paramref name="offset"/> into <paramref name="destination"/> (as many
    /// as it holds), across the head and a payload held by reference, without joining them.</summary>
    public void CopyTo(int offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"{destination.Length} B from {offset} of a {Length} B packet");
        }

        int fromHead = Math.Max(0, Math.Min(destination.Length, _length - offset));
        if (fromHead > 0)
        {
            _array.AsSpan(_start + offset, fromHead).CopyTo(destination);
        }

        int copied = fromHead;
        int inPayload = offset + fromHead - _length; // where the rest starts in the payload held by reference
        for (int i = 0; copied < destination.Length; i++)
        {
            ReadOnlySpan<byte> piece = ReferencedFragment(i);
            if (inPayload >= piece.Length)
            {
                inPayload -= piece.Length;
                continue;
            }

            int n = Math.Min(piece.Length - inPayload, destination.Length - copied);
            piece.Slice(inPayload, n).CopyTo(destination[copied..]);
            copied += n;
            inPayload = 0;
        }
    }

    // The payload held by reference: its first piece here, any further ones (a segment across send-queue chunks) in
    // _more, whose array is kept for the buffer's next use; _payloadLength counts all of them.
    private byte[]? _payload;
    private int _payloadOffset;
    private int _firstLength;
    private int _payloadLength;
    private ChunkLease? _payloadLease;
    private Fragment[]? _more;
    private int _moreCount;
    private int _transportFromEnd;
    private bool _mergedHeader;

    /// <summary>Free bytes in front of the data.</summary>
    public int Headroom => _start;

    /// <summary>Free bytes behind the data.</summary>
    public int Tailroom => _array.Length - _start - _length;

    /// <summary>Link-layer metadata: set by the receiving device (e.g. the rx timestamp).</summary>
    public long Timestamp { get; set; }

    /// <summary>
    /// The transport checksum in these bytes was computed by a Wirestack stack in this process and the bytes have not
    /// been touched since (Linux's CHECKSUM_UNNECESSARY, as its loopback and NICs with receive checksum offload
    /// mark packets): the receiver may skip verifying it. Set by TCP output; kept by links that hand the bytes
    /// over unchanged (a simulated wire clears it on a packet it corrupts); false on every buffer rented, and so on
    /// anything read from a real device or built by a test.
    /// </summary>
    public bool ChecksumTrusted { get; set; }

    /// <summary>
    /// For a TCP segment larger than one MSS sent where the route offloads segmentation (a large segment, see
    /// <see cref="Links.ILinkDevice.GsoMaxSize"/>): the payload of each segment it stands for, the MSS TCP cut it for
    /// (Linux's <c>skb_shinfo(skb)-&gt;gso_size</c>); a device that segments, or hands the packet on with a
    /// virtio-net header, uses it. 0 for an ordinary packet; 0 on every buffer rented.
    /// </summary>
    public int GsoSize { get; set; }

    /// <summary>Opens <paramref name="count"/> bytes in front of the data and returns them for a header.</summary>
    public Span<byte> Prepend(int count)
    {
        if (count > _start)
        {
            throw new InvalidOperationException($"headroom {_start} B is too small for a {count} B header");
        }

        _start -= count;
        _length += count;
        return _array.AsSpan(_start, count);
    }

    /// <summary>Grows the data by <paramref name="count"/> bytes at the end and returns them.</summary>
    public Span<byte> Append(int count)
    {
        Materialize();
        if (count > Tailroom)
        {
            throw new InvalidOperationException($"tailroom {Tailroom} B is too small for {count} B");
        }

        Span<byte> span = _array.AsSpan(_start + _length, count);
        _length += count;
        return span;
    }

    /// <summary>Steps over <paramref name="count"/> bytes at the front (a header just parsed).</summary>
    public void TrimFront(int count)
    {
        if (count > _length)
        {
            Materialize();
        }

        Debug.Assert(count >= 0 && count <= _length);
        _start += count;
        _length -= count;
    }

    /// <summary>Cuts the data to <paramref name="length"/> bytes (e.g. link padding after an IP datagram).</summary>
    public void TrimTo(int length)
    {
        if (_payload is not null && length < Length)
        {
            Materialize();
        }

        if (_payload is not null)
        {
            return; // the whole packet, a payload held by reference included
        }

        Debug.Assert(length >= 0 && length <= _length);
        _length = length;
    }

    /// <summary>Empties the buffer and reserves <paramref name="headroom"/> bytes in front again.</summary>
    public void Reset(int headroom)
    {
        ReleasePayload();
        if (headroom > _array.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(headroom));
        }

        _start = headroom;
        _length = 0;
        ChecksumTrusted = false;
        GsoSize = 0;
    }

    internal void Attach(byte[] array, int headroom, BudgetCause cause, int charged)
    {
        _array = array;
        _start = headroom;
        _length = 0;
        _cause = cause;
        _charged = charged;
        _leased = true;
        Timestamp = 0;
        ChecksumTrusted = false;
        GsoSize = 0;
    }

    internal byte[] Detach(out BudgetCause cause, out int charged)
    {
        byte[] array = _array;
        cause = _cause;
        charged = _charged;
        _array = Array.Empty<byte>();
        _leased = false;
        return array;
    }

    internal int Capacity => _array.Length;

    /// <summary>Returns the buffer to its pool and its bytes to the budget. Calling it twice is a bug and throws.</summary>
    public void Dispose()
    {
        if (!_leased)
        {
            throw new ObjectDisposedException(nameof(PacketBuffer), "packet buffer returned twice");
        }

        ReleasePayload();
        if (_pool is null)
        {
            _leased = false;
            return;
        }

        _pool.Return(this);
    }

    private record struct Fragment(byte[] Array, int Offset, int Length, ChunkLease Lease);
}
