using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Wirestack.Wire;

/// <summary>
/// The Internet checksum. RFC 1071 §1: the 16-bit one's complement of the one's complement sum of 16-bit words.
/// RFC 1071 §2(B): the sum is byte-order independent, so words are summed in the machine's own order, 32 bits at a
/// time into 64-bit accumulators (§2(C) deferred carries), vectorised where the hardware allows, and swapped once at
/// the end. RFC 1624 gives the incremental update used when one field changes (TTL, addresses).
/// </summary>
public static class InternetChecksum
{
    /// <summary>Adds <paramref name="data"/> to a running sum. Every chunk but the last must have even length.</summary>
    public static ulong Accumulate(ReadOnlySpan<byte> data, ulong sum = 0)
    {
        if (Vector256.IsHardwareAccelerated && data.Length >= 64)
        {
            ReadOnlySpan<uint> words = MemoryMarshal.Cast<byte, uint>(data);
            Vector256<ulong> acc0 = Vector256<ulong>.Zero;
            Vector256<ulong> acc1 = Vector256<ulong>.Zero;
            int i = 0;
            for (; i + 16 <= words.Length; i += 16)
            {
                (Vector256<ulong> lo0, Vector256<ulong> hi0) = Vector256.Widen(Vector256.Create(words.Slice(i, 8)));
                (Vector256<ulong> lo1, Vector256<ulong> hi1) = Vector256.Widen(Vector256.Create(words.Slice(i + 8, 8)));
                acc0 += lo0 + hi0;
                acc1 += lo1 + hi1;
            }

            sum += Vector256.Sum(acc0 + acc1);
            data = data[(i * 4)..];
        }

        while (data.Length >= 8)
        {
            ulong x = MemoryMarshal.Read<ulong>(data);
            sum += (x & 0xFFFF_FFFF) + (x >> 32);
            data = data[8..];
        }

        if (data.Length >= 4)
        {
            sum += MemoryMarshal.Read<uint>(data);
            data = data[4..];
        }

        if (data.Length >= 2)
        {
            sum += MemoryMarshal.Read<ushort>(data);
            data = data[2..];
        }

        if (data.Length == 1)
        {
            // RFC 1071 §4.1: an odd byte is padded with a zero byte on the right.
            sum += BitConverter.IsLittleEndian ? data[0] : (ulong)data[0] << 8;
        }

        return sum;
    }

    /// <summary>Copies <paramref name="source"/> into the front of <paramref name="destination"/> and adds it to a
    /// running sum in the same pass (lwIP's checksum-on-copy): the bytes are read once, not once to copy and once to
    /// sum. The result is the one <see cref="Accumulate"/> gives for the same bytes.</summary>
    public static ulong CopyAndAccumulate(ReadOnlySpan<byte> source, Span<byte> destination, ulong sum = 0)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("destination is shorter than source", nameof(destination));
        }

        int i = 0;
        if (Vector256.IsHardwareAccelerated && source.Length >= 64)
        {
            ref byte from = ref MemoryMarshal.GetReference(source);
            ref byte to = ref MemoryMarshal.GetReference(destination);
            Vector256<ulong> acc0 = Vector256<ulong>.Zero;
            Vector256<ulong> acc1 = Vector256<ulong>.Zero;
            for (; i + 64 <= source.Length; i += 64)
            {
                Vector256<byte> a = Vector256.LoadUnsafe(ref from, (nuint)i);
                Vector256<byte> b = Vector256.LoadUnsafe(ref from, (nuint)(i + 32));
                a.StoreUnsafe(ref to, (nuint)i);
                b.StoreUnsafe(ref to, (nuint)(i + 32));
                (Vector256<ulong> lo0, Vector256<ulong> hi0) = Vector256.Widen(a.AsUInt32());
                (Vector256<ulong> lo1, Vector256<ulong> hi1) = Vector256.Widen(b.AsUInt32());
                acc0 += lo0 + hi0;
                acc1 += lo1 + hi1;
            }

            sum += Vector256.Sum(acc0 + acc1);
        }

        // The rest (under 64 bytes, or all of it without vector hardware): copy, then sum from the copy (in cache).
        source[i..].CopyTo(destination[i..]);
        return Accumulate(destination[i..source.Length], sum);
    }

    /// <summary>Folds a running sum to 16 bits (one's complement addition, no complement taken), in the machine's
    /// order as <see cref="Accumulate"/> keeps it.</summary>
    public static ulong Fold(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        uint s = (uint)sum;
        s = (s & 0xFFFF) + (s >> 16);
        s = (s & 0xFFFF) + (s >> 16);
        return s;
    }

    /// <summary>The running sum of bytes that start at an odd offset of the data being summed, given their sum as
    /// summed from their own start: RFC 1071 §2(B), swapping the two bytes of the folded sum.</summary>
    public static ulong ShiftByOneByte(ulong sum)
    {
        ulong folded = Fold(sum);
        return ((folded & 0xFF) << 8) | (folded >> 8);
    }

    /// <summary>Adds a big-endian 16-bit value (e.g. a protocol number or a length) to a running sum.</summary>
    public static ulong AddWord(ulong sum, ushort bigEndianValue) =>
        sum + (BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(bigEndianValue) : bigEndianValue);

    /// <summary>Adds a 32-bit big-endian value (an address) to a running sum.</summary>
    public static ulong AddWord32(ulong sum, uint bigEndianValue) =>
        sum + (BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(bigEndianValue) : bigEndianValue);

    /// <summary>Folds a running sum to 16 bits and returns its complement as a value to write big-endian.</summary>
    public static ushort Finish(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        uint s = (uint)sum;
        s = (s & 0xFFFF) + (s >> 16);
        s = (s & 0xFFFF) + (s >> 16);
        ushort folded = (ushort)~s;
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(folded) : folded;
    }

    /// <summary>
    /// Adds <paramref name="sum"/> (a running sum of bytes that start at an even offset of the data the checksum
    /// covers) to the checksum already written in <paramref name="field"/> by <see cref="Finish"/>: the checksum
    /// becomes that of the data with those bytes included (RFC 1624 §3's incremental update, HC' = ~(~HC + m')).
    /// </summary>
    public static void AddToChecksumField(Span<byte> field, ulong sum)
    {
        // Finish's value is written big-endian after a byte swap, so the field's two bytes are the complemented
        // folded sum in the machine's order (little-endian): read back, un-complemented, it is a running sum again.
        ulong written = (ushort)~BinaryPrimitives.ReadUInt16LittleEndian(field);
        BinaryPrimitives.WriteUInt16BigEndian(field, Finish(written + Fold(sum)));
    }

    /// <summary>The checksum of <paramref name="data"/> alone.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Accumulate(data));

    /// <summary>RFC 793 §3.1 / RFC 768: the sum of the IPv4 pseudo-header (source, destination, zero, protocol,
    /// transport length).</summary>
    public static ulong PseudoHeader(IPv4Address source, IPv4Address destination, byte protocol, int length)
    {
        ulong sum = AddWord32(0, source.Value);
        sum = AddWord32(sum, destination.Value);
        sum = AddWord(sum, protocol);
        return AddWord(sum, (ushort)length);
    }

    /// <summary>RFC 1624 §3, eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit field changing from
    /// <paramref name="oldValue"/> to <paramref name="newValue"/>. All values are as read big-endian.</summary>
    public static ushort Update(ushort checksum, ushort oldValue, ushort newValue)
    {
        uint sum = (ushort)~checksum + (uint)(ushort)~oldValue + newValue;
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
