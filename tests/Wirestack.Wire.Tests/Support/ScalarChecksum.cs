namespace Wirestack.Wire.Tests;

/// <summary>The Internet checksum written the plainest way, straight from RFC 1071 §1: add big-endian 16-bit words
/// (an odd last byte padded with zero on the right), fold the carries, complement. The reference the vectorised
/// implementation is checked against.</summary>
internal static class ScalarChecksum
{
    public static ushort Sum(ReadOnlySpan<byte> data, uint initial = 0)
    {
        uint sum = initial;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += (uint)((data[i] << 8) | data[i + 1]);
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        if (i < data.Length)
        {
            sum += (uint)(data[i] << 8);
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)sum;
    }

    public static ushort Checksum(ReadOnlySpan<byte> data) => (ushort)~Sum(data);
}
