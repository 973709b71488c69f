using System.Diagnostics.CodeAnalysis;
using Wirestack.Buffers;
using Wirestack.Wire;

namespace Wirestack.IP;

/// <summary>
/// IPv4 fragmentation on output. Read first: RFC 791 §3.2 (fragmentation procedure), RFC 791 §2.3 ("Fragmentation"),
/// RFC 1122 §3.3.3 (a host may fragment datagrams it sends), RFC 8900 (prefer not to: fragments are fragile).
/// Options are never emitted, so every fragment carries a plain 20-octet header.
/// </summary>
public static class Fragmenter
{
    /// <summary>
    /// RFC 791 §3.2: splits <paramref name="payload"/>, the data of the datagram described by
    /// <paramref name="header"/>, into fragments that fit <paramref name="mtu"/>. Each is a new buffer rented from
    /// <paramref name="pool"/> (<see cref="BudgetCause.PacketTx"/>) with its header written: same identification,
    /// offsets counted from the header's own <see cref="IPv4Header.FragmentOffset"/>, MF set on all but the last
    /// (which keeps the header's MF, so a fragment can be fragmented again). Data per non-final fragment is a
    /// multiple of 8 octets. The fragments are appended to <paramref name="output"/> in order and the caller owns
    /// them. A payload that already fits gives one packet. On pool exhaustion every buffer rented here is disposed
    /// and removed from <paramref name="output"/>, and the result is false (ENOBUFS).
    /// </summary>
    /// <exception cref="ArgumentException">DF is set (the caller must send "fragmentation needed" instead), the MTU
    /// cannot hold a header and 8 octets, or the datagram could never be valid. These are programming errors: the
    /// arguments come from the stack, not the wire.</exception>
    public static bool TryFragment(in IPv4Header header, ReadOnlySpan<byte> payload, int mtu, PacketBufferPool pool, List<PacketBuffer> output)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(output);
        if (header.DontFragment)
        {
            // RFC 791 §3.1, Flags: with DF set the datagram may not be fragmented; the caller discards it and, for a
            // forwarded datagram, answers with ICMP "fragmentation needed and DF set" (RFC 792, RFC 1191).
            throw new ArgumentException("the datagram has Don't Fragment set", nameof(header));
        }

        // RFC 791 §3.2: every fragment carries at least one 8-octet block after its header.
        ArgumentOutOfRangeException.ThrowIfLessThan(mtu, IPv4Header.Length + 8);
        if (header.FragmentOffset % 8 != 0 || header.FragmentOffset < 0 || header.FragmentOffset + payload.Length > Reassembler.MaxDataLength)
        {
            throw new ArgumentException(
                $"impossible datagram: offset {header.FragmentOffset} + {payload.Length} B of data", nameof(header));
        }

        // RFC 791 §3.2: NFB, the number of fragment blocks, is (MTU - IHL*4) / 8.
        int blockBytes = (mtu - IPv4Header.Length) & ~7;
        int first = output.Count;
        int sent = 0;
        do
        {
            int length = Math.Min(blockBytes, payload.Length - sent);
            bool last = sent + length == payload.Length;
            IPv4Header fragmentHeader = header with
            {
                PayloadLength = length,
                FragmentOffset = header.FragmentOffset + sent,
                MoreFragments = !last || header.MoreFragments,
            };
            if (!TryBuild(fragmentHeader, payload.Slice(sent, length), pool, out PacketBuffer? fragment))
            {
                for (int i = first; i < output.Count; i++)
                {
                    output[i].Dispose();
                }

                output.RemoveRange(first, output.Count - first);
                return false;
            }

            output.Add(fragment);
            sent += length;
        }
        while (sent < payload.Length);

        return true;
    }

    private static bool TryBuild(in IPv4Header header, ReadOnlySpan<byte> data, PacketBufferPool pool, [NotNullWhen(true)] out PacketBuffer? fragment)
    {
        bool prepend = pool.Headroom >= IPv4Header.Length;
        if (!pool.TryRent(prepend ? data.Length : IPv4Header.Length + data.Length, BudgetCause.PacketTx, out fragment))
        {
            return false;
        }

        if (prepend)
        {
            data.CopyTo(fragment.Append(data.Length));
            header.WriteTo(fragment.Prepend(IPv4Header.Length));
        }
        else
        {
            header.WriteTo(fragment.Append(IPv4Header.Length));
            data.CopyTo(fragment.Append(data.Length));
        }

        return true;
    }
}
