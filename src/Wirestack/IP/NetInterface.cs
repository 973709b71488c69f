using Wirestack.Links;
using Wirestack.Wire;

namespace Wirestack.IP;

/// <summary>A link device with the IPv4 address the stack holds on it.</summary>
public sealed class NetInterface
{
    public NetInterface(int index, ILinkDevice device, IPv4Cidr address)
    {
        Index = index;
        Device = device;
        Address = address;
    }

    public int Index { get; }

    public ILinkDevice Device { get; }

    public string Name => Device.Name;

    public IPv4Cidr Address { get; set; }

    public int Mtu => Device.Mtu;

    public override string ToString() => $"{Name} {Address} mtu {Mtu}";
}
