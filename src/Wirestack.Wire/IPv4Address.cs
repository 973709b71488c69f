using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Wirestack.Wire;

/// <summary>An IPv4 address held as a host-order 32-bit value (a.b.c.d = a&lt;&lt;24 | b&lt;&lt;16 | c&lt;&lt;8 | d).</summary>
public readonly record struct IPv4Address(uint Value) : IComparable<IPv4Address>, ISpanFormattable
{
    public static readonly IPv4Address Any = new(0);
    public static readonly IPv4Address Broadcast = new(0xFFFF_FFFF);
    public static readonly IPv4Address Loopback = new(0x7F00_0001);

    public IPv4Address(byte a, byte b, byte c, byte d)
        : this(((uint)a << 24) | ((uint)b << 16) | ((uint)c << 8) | d)
    {
    }

    public bool IsUnspecified => Value == 0;
    public bool IsBroadcast => Value == 0xFFFF_FFFF;
    public bool IsMulticast => (Value >> 28) == 0xE;
    public bool IsLoopback => (Value >> 24) == 127;

    public static IPv4Address Read(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt32BigEndian(bytes));

    public void Write(Span<byte> bytes) => BinaryPrimitives.WriteUInt32BigEndian(bytes, Value);

    public static IPv4Address Parse(string text) =>
        TryParse(text, out IPv4Address address) ? address : throw new FormatException($"'{text}' is not an IPv4 address (expected a.b.c.d)");

    public static bool TryParse([NotNullWhen(true)] string? text, out IPv4Address address)
    {
        address = default;
        if (text is null)
        {
            return false;
        }

        string[] parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        uint value = 0;
        foreach (string part in parts)
        {
            if (part.Length is 0 or > 3 || !byte.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out byte b))
            {
                return false;
            }

            value = (value << 8) | b;
        }

        address = new IPv4Address(value);
        return true;
    }

    public System.Net.IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[4];
        Write(bytes);
        return new System.Net.IPAddress(bytes);
    }

    public static IPv4Address FromIPAddress(System.Net.IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || !address.TryWriteBytes(bytes, out _))
        {
            throw new ArgumentException($"{address} is not an IPv4 address", nameof(address));
        }

        return Read(bytes);
    }

    public int CompareTo(IPv4Address other) => Value.CompareTo(other.Value);

    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider) =>
        destination.TryWrite(CultureInfo.InvariantCulture, $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}", out charsWritten);
}
