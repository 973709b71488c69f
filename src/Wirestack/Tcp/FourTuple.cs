using Wirestack.Wire;

namespace Wirestack.Tcp;

/// <summary>A connection's identity: local and remote address and port.</summary>
public readonly record struct FourTuple(IPv4Address LocalAddress, ushort LocalPort, IPv4Address RemoteAddress, ushort RemotePort)
{
    public override int GetHashCode() =>
        (int)(LocalAddress.Value * 0x9E3779B1u ^ RemoteAddress.Value * 0x85EBCA77u ^ ((uint)LocalPort << 16 | RemotePort) * 0xC2B2AE3Du);

    public override string ToString() => $"{LocalAddress}:{LocalPort} {RemoteAddress}:{RemotePort}";
}
