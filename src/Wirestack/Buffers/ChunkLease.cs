using System.Buffers;

namespace Wirestack.Buffers;

/// <summary>
/// Keeps one chunk of a <see cref="ByteQueue"/> from being reused while packets hold its bytes by reference
/// (<see cref="PacketBuffer.AttachPayload"/>): a count of the packets lent from it. When the queue is done with the
/// chunk (the data was acknowledged) while packets still hold it (a retransmitted copy still in flight), the chunk
/// is orphaned: it goes back to its cache only when the last of them releases it, so a packet never sees bytes
/// written after it was built.
/// </summary>
/// <remarks>
/// Lease objects are pooled by their queue and reused with the chunk slot they belong to, so lending allocates
/// nothing on the steady path; an orphaned one is left to the GC. Not thread-safe: lent only to packets that stay
/// on the stack's protocol loop (devices with <see cref="Links.ILinkDevice.AcceptsReferencedPayload"/>; for every
/// other device IP output joins the payload before the packet leaves).
/// </remarks>
public sealed class ChunkLease
{
    private byte[]? _orphan;
    private ByteArrayCache? _orphanCache;

    /// <summary>Packets holding bytes of the chunk now.</summary>
    public int Count { get; private set; }

    /// <summary>Whether the queue is done with the chunk and the last packet returns it.</summary>
    public bool IsOrphaned => _orphan is not null;

    internal void Acquire() => Count++;

    /// <summary>A packet is done with the chunk's bytes.</summary>
    public void Release()
    {
        if (Count <= 0)
        {
            throw new InvalidOperationException("chunk lease released more often than acquired");
        }

        if (--Count == 0 && _orphan is { } array)
        {
            if (_orphanCache is null)
            {
                ArrayPool<byte>.Shared.Return(array);
            }
            else
            {
                _orphanCache.Return(array);
            }

            _orphan = null;
            _orphanCache = null;
        }
    }

    /// <summary>The queue released the chunk while packets still hold it: the last of them returns
    /// <paramref name="array"/> to <paramref name="cache"/> (<see cref="ArrayPool{T}.Shared"/> when null).</summary>
    internal void Orphan(byte[] array, ByteArrayCache? cache)
    {
        _orphan = array;
        _orphanCache = cache;
    }
}
