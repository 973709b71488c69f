using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Wirestack.Wire;

/// <summary>
/// An IEEE 802 48-bit MAC address (IEEE 802-2014 §8.2), held as the six octets in transmission order packed into the
/// low 48 bits of a <see cref="ulong"/> (first octet in bits 47..40), so equality and hashing are one compare.
/// Text form is six lower-case hex pairs separated by colons: <c>aa:bb:cc:dd:ee:ff</c>.
/// </summary>
public readonly record struct MacAddress : ISpanFormattable
{
    /// <summary>Octets in an address.</summary>
    public const int Length = 6;

    private const ulong Mask48 = 0xFFFF_FFFF_FFFF;

    private readonly ulong _value;

    /// <summary>ff:ff:ff:ff:ff:ff, the all-stations address ARP requests are sent to (RFC 826).</summary>
    public static readonly MacAddress Broadcast = new(Mask48);

    /// <summary>00:00:00:00:00:00, which ARP requests carry as the unknown target hardware address.</summary>
    public static readonly MacAddress Zero = new(0);

    private MacAddress(ulong value) => _value = value;

    public MacAddress(byte a, byte b, byte c, byte d, byte e, byte f)
        : this(((ulong)a << 40) | ((ulong)b << 32) | ((ulong)c << 24) | ((ulong)d << 16) | ((ulong)e << 8) | f)
    {
    }

    /// <summary>The six octets as a 48-bit number, first octet most significant.</summary>
    public ulong Value => _value;

    public bool IsBroadcast => _value == Mask48;

    /// <summary>IEEE 802 §8.2: the I/G bit (least significant bit of the first octet) marks a group address.</summary>
    public bool IsMulticast => ((_value >> 40) & 0x01) != 0;

    public bool IsUnicast => !IsMulticast;

    /// <summary>IEEE 802 §8.2: the U/L bit (second bit of the first octet) marks a locally administered address.</summary>
    public bool IsLocallyAdministered => ((_value >> 40) & 0x02) != 0;

    public bool IsZero => _value == 0;

    /// <summary>Builds an address from a 48-bit number; higher bits must be zero.</summary>
    public static MacAddress FromValue(ulong value) =>
        value <= Mask48 ? new MacAddress(value) : throw new ArgumentOutOfRangeException(nameof(value), "a MAC address has 48 bits");

    /// <summary>Reads six octets. <paramref name="bytes"/> must hold at least six (a view guarantees it).</summary>
    public static MacAddress Read(ReadOnlySpan<byte> bytes)
    {
        ReadOnlySpan<byte> b = bytes[..Length];
        return new MacAddress(b[0], b[1], b[2], b[3], b[4], b[5]);
    }

    /// <summary>Writes the six octets in transmission order.</summary>
    public void Write(Span<byte> bytes)
    {
        Span<byte> b = bytes[..Length];
        for (int i = 0; i < Length; i++)
        {
            b[i] = (byte)(_value >> (40 - (8 * i)));
        }
    }

    public static MacAddress Parse(string text) =>
        TryParse(text, out MacAddress address) ? address : throw new FormatException($"'{text}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");

    /// <summary>Accepts six two-digit hex pairs separated by ':' or '-' (one separator throughout), any case.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out MacAddress address) => TryParse(text.AsSpan(), out address) && text is not null;

    public static bool TryParse(ReadOnlySpan<char> text, out MacAddress address)
    {
        address = default;
        if (text.Length != 17)
        {
            return false;
        }

        char separator = text[2];
        if (separator is not (':' or '-'))
        {
            return false;
        }

        ulong value = 0;
        for (int i = 0; i < Length; i++)
        {
            int at = i * 3;
            if (i > 0 && text[at - 1] != separator)
            {
                return false;
            }

            if (!byte.TryParse(text.Slice(at, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte octet))
            {
                return false;
            }

            value = (value << 8) | octet;
        }

        address = new MacAddress(value);
        return true;
    }

    public override string ToString() => string.Create(17, _value, static (chars, value) => Format(value, chars));

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        if (destination.Length < 17)
        {
            charsWritten = 0;
            return false;
        }

        Format(_value, destination);
        charsWritten = 17;
        return true;
    }

    private static void Format(ulong value, Span<char> chars)
    {
        const string Hex = "0123456789abcdef";
        for (int i = 0; i < Length; i++)
        {
            int octet = (int)(value >> (40 - (8 * i))) & 0xFF;
            chars[i * 3] = Hex[octet >> 4];
            chars[(i * 3) + 1] = Hex[octet & 0xF];
            if (i < Length - 1)
            {
                chars[(i * 3) + 2] = ':';
            }
        }
    }
}
