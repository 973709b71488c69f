namespace Wirestack.Wire;

/// <summary>IP protocol numbers (IANA) that the stack knows.</summary>
public static class IPProtocol
{
    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;
}
