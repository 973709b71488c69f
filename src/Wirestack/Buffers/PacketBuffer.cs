using System.Diagnostics;

namespace Wirestack.Buffers;

/// <summary>
/// One packet's bytes with reserved headroom, so that each layer on the way out writes its header in front of the
/// payload without copying it (<see cref="Prepend"/>), and each layer on the way in steps over its header
/// (<see cref="TrimFront"/>). Owned by exactly one holder at a time; <see cref="Dispose"/> gives it back to its pool.
/// </summary>
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

    /// <summary>The bytes of the packet, from the outermost header written so far to the end.</summary>
    public Span<byte> Span => _array.AsSpan(_start, _length);

    public Memory<byte> Memory => _array.AsMemory(_start, _length);

    public int Length => _length;

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
        Debug.Assert(count >= 0 && count <= _length);
        _start += count;
        _length -= count;
    }

    /// <summary>Cuts the data to <paramref name="length"/> bytes (e.g. link padding after an IP datagram).</summary>
    public void TrimTo(int length)
    {
        Debug.Assert(length >= 0 && length <= _length);
        _length = length;
    }

    /// <summary>Empties the buffer and reserves <paramref name="headroom"/> bytes in front again.</summary>
    public void Reset(int headroom)
    {
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

        if (_pool is null)
        {
            _leased = false;
            return;
        }

        _pool.Return(this);
    }
}
