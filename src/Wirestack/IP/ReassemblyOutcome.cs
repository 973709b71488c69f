namespace Wirestack.IP;

/// <summary>What <see cref="Reassembler.Add"/> did with a fragment. Every <c>Dropped…</c> value is a counted drop
/// for the caller (Linux counts them all as <c>ReasmFails</c>).</summary>
public enum ReassemblyOutcome
{
    /// <summary>The fragment completed its datagram, which is handed back in a new buffer.</summary>
    Complete,

    /// <summary>The fragment is held (or was an exact duplicate of one held, and ignored) until the rest arrives.</summary>
    Pending,

    /// <summary>The fragment overlapped data already held; the whole datagram was discarded (RFC 5722 §4 style).</summary>
    DroppedOverlap,

    /// <summary>The fragment would make the datagram longer than 65535 octets (RFC 791 §3.1, "ping of death").
    /// Only the fragment is dropped.</summary>
    DroppedTooLarge,

    /// <summary>RFC 1858 §3.2 / RFC 3128: a fragment shaped to split or overwrite a transport header (TCP with
    /// fragment offset 1, or a first fragment too short to hold the header). Only the fragment is dropped.</summary>
    DroppedTinyFragment,

    /// <summary>No memory for the fragment or for the reassembled datagram (the reassembler's byte limit or the
    /// stack's budget); the whole datagram was discarded, since it could no longer complete.</summary>
    DroppedNoBuffers,

    /// <summary>The fragment would start a new datagram while the reassembler already holds its maximum number.
    /// Only the fragment is dropped; datagrams already held are kept.</summary>
    DroppedTooManyDatagrams,

    /// <summary>A malformed fragment. Alone (zero length, a non-final fragment not a multiple of 8 octets): only it
    /// is dropped. Inconsistent with its datagram (data beyond the end set by the last fragment, two different
    /// ends, more pieces than allowed): the whole datagram is discarded.</summary>
    DroppedBadFragment,
}
