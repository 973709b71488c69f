namespace Wirestack.Wire;

/// <summary>An address with a prefix length, as in 10.0.0.1/24.</summary>
public readonly record struct IPv4Cidr(IPv4Address Address, int PrefixLength)
{
    public uint Mask => PrefixLength == 0 ? 0 : 0xFFFF_FFFFu << (32 - PrefixLength);

    public IPv4Address Network => new(Address.Value & Mask);

    public IPv4Address BroadcastAddress => new(Address.Value | ~Mask);

    public bool Contains(IPv4Address address) => (address.Value & Mask) == (Address.Value & Mask);

    public static IPv4Cidr Parse(string text)
    {
        if (!TryParse(text, out IPv4Cidr cidr, out string? error))
        {
            throw new FormatException(error);
        }

        return cidr;
    }

    public static bool TryParse(string text, out IPv4Cidr cidr, out string? error)
    {
        cidr = default;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        string addressText = slash < 0 ? text : text[..slash];
        if (!IPv4Address.TryParse(addressText, out IPv4Address address))
        {
            error = $"'{addressText}' is not an IPv4 address";
            return false;
        }

        int prefix = 32;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), out prefix) || prefix is < 0 or > 32))
        {
            error = $"'{text[(slash + 1)..]}' is not a prefix length 0..32";
            return false;
        }

        cidr = new IPv4Cidr(address, prefix);
        error = null;
        return true;
    }

    public override string ToString() => $"{Address}/{PrefixLength}";
}
