namespace Wirestack.Wire;

/// <summary>EtherType values (IEEE 802.3 §3.2.6, IANA "IEEE 802 Numbers") that the stack knows. Values below
/// <see cref="MinEtherType"/> are not types but an 802.3 length.</summary>
public static class EtherType
{
    /// <summary>RFC 894: IPv4 over Ethernet.</summary>
    public const ushort IPv4 = 0x0800;

    /// <summary>RFC 826: the Address Resolution Protocol.</summary>
    public const ushort Arp = 0x0806;

    /// <summary>IEEE 802.1Q tag (recognised only to name it when formatting).</summary>
    public const ushort Vlan = 0x8100;

    /// <summary>RFC 2464: IPv6 over Ethernet (recognised only to name it when formatting).</summary>
    public const ushort IPv6 = 0x86DD;

    /// <summary>IEEE 802.3 §3.2.6: a Length/Type field at or above 1536 (0x0600) is a type; at or below 1500 it is a length.</summary>
    public const ushort MinEtherType = 0x0600;

    /// <summary>A short name for a type, as tcpdump prints it, or null when unknown.</summary>
    public static string? Name(ushort etherType) => etherType switch
    {
        IPv4 => "IPv4",
        Arp => "ARP",
        Vlan => "802.1Q",
        IPv6 => "IPv6",
        _ => null,
    };
}
