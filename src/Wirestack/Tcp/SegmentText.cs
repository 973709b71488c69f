using Wirestack.Buffers;

namespace Wirestack.Tcp;

/// <summary>
/// The text of a received segment, lent for the call: one span, or a range of a payload held by reference in pieces
/// (<see cref="PacketBuffer.ReferencedFragment"/>: a segment lent across the sender's chunks, or GRO's merge of such
/// segments), read where the pieces lie so that each byte is copied once, into the receive queue. Slicing trims it
/// to the window as a span would be trimmed.
/// </summary>
public readonly ref struct SegmentText
{
    private readonly ReadOnlySpan<byte> _span;
    private readonly PacketBuffer? _pieces; // when not null: bytes [_start, _start + Length) of its referenced payload
    private readonly int _start;

    public SegmentText(ReadOnlySpan<byte> span)
    {
        _span = span;
        Length = span.Length;
    }

    /// <summary>The whole payload <paramref name="packet"/> holds by reference, in however many pieces.</summary>
    public SegmentText(PacketBuffer packet)
        : this(packet, 0, packet.Length - packet.Head.Length)
    {
    }

    private SegmentText(PacketBuffer packet, int start, int length)
    {
        _pieces = packet;
        _start = start;
        Length = length;
    }

    public static implicit operator SegmentText(ReadOnlySpan<byte> span) => new(span);

    public static implicit operator SegmentText(byte[] bytes) => new(bytes);

    /// <summary>Bytes of text.</summary>
    public int Length { get; }

    public bool IsEmpty => Length == 0;

    /// <summary>Whether the text is one span (<see cref="Span"/>).</summary>
    public bool IsOnePiece => _pieces is null;

    /// <summary>The text when it is one span (<see cref="IsOnePiece"/>).</summary>
    public ReadOnlySpan<byte> Span => _pieces is null
        ? _span
        : throw new InvalidOperationException("the text is in pieces: write it with WriteTo or CopyTo");

    public SegmentText Slice(int start) => Slice(start, Length - start);

    public SegmentText Slice(int start, int length)
    {
        if ((uint)start > (uint)Length || (uint)length > (uint)(Length - start))
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"{length} B from {start} of {Length} B of text");
        }

        return _pieces is null ? new SegmentText(_span.Slice(start, length)) : new SegmentText(_pieces, _start + start, length);
    }

    /// <summary>Appends the text to <paramref name="queue"/>, piece by piece, up to the first piece it refuses in
    /// part (its budget). Returns the bytes accepted.</summary>
    public int WriteTo(ByteQueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (_pieces is null)
        {
            return queue.Write(_span);
        }

        int accepted = 0;
        foreach (ReadOnlySpan<byte> piece in Pieces())
        {
            int n = queue.Write(piece);
            accepted += n;
            if (n < piece.Length)
            {
                break;
            }
        }

        return accepted;
    }

    /// <summary>Copies the text into <paramref name="destination"/>, at least <see cref="Length"/> long.</summary>
    public void CopyTo(Span<byte> destination)
    {
        if (_pieces is null)
        {
            _span.CopyTo(destination);
            return;
        }

        foreach (ReadOnlySpan<byte> piece in Pieces())
        {
            piece.CopyTo(destination);
            destination = destination[piece.Length..];
        }
    }

    private PieceEnumerator Pieces() => new(_pieces!, _start, Length);

    /// <summary>The pieces of a range of a payload held by reference, each trimmed to the range.</summary>
    private ref struct PieceEnumerator
    {
        private readonly PacketBuffer _packet;
        private readonly int _count;
        private int _index;
        private int _skip;
        private int _left;

        public PieceEnumerator(PacketBuffer packet, int start, int length)
        {
            _packet = packet;
            _count = packet.ReferencedFragmentCount;
            _index = -1;
            _skip = start;
            _left = length;
        }

        public ReadOnlySpan<byte> Current { get; private set; }

        public readonly PieceEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            while (_left > 0 && ++_index < _count)
            {
                ReadOnlySpan<byte> piece = _packet.ReferencedFragment(_index);
                if (_skip >= piece.Length)
                {
                    _skip -= piece.Length;
                    continue;
                }

                piece = piece[_skip..];
                _skip = 0;
                Current = piece.Length > _left ? piece[.._left] : piece;
                _left -= Current.Length;
                return true;
            }

            return false;
        }
    }
}
