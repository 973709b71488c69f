namespace Wirestack.Links.Linux;

/// <summary>How <see cref="TunDevice.Open"/> sets up a TUN device.</summary>
public sealed class TunOptions
{
    /// <summary>The largest MTU a TUN device takes (an IPv4 datagram's length field).</summary>
    public const int MaxMtu = 65535;

    /// <summary>The MTU to give the interface (SIOCSIFMTU, 68 to 65535). Null leaves the interface's MTU as it is
    /// (1500 for a new device) and uses that.</summary>
    public int? Mtu { get; init; }

    /// <summary>Slots of the receive ring between the reader thread and the stack; a packet that finds the ring
    /// full is dropped and counted as rx_missed_errors. Buffers (MTU bytes, or 64 KiB with <see cref="Offload"/>)
    /// are allocated as the ring first needs them: as many as it has held at once, plus one.</summary>
    public int RingSlots { get; init; } = 1024;

    /// <summary>
    /// Segmentation and checksum offloads through the virtio-net header (IFF_VNET_HDR, TUNSETOFFLOAD with
    /// TUN_F_CSUM | TUN_F_TSO4): TCP segments of up to 64 KiB in both directions, sent and received whole, with
    /// partial checksums. The device then reports <see cref="ILinkDevice.GsoMaxSize"/> 65535. Off by default.
    /// </summary>
    public bool Offload { get; init; }

    /// <summary>The reader wakes the stack after at most this many packets, and at the end of every burst.</summary>
    public int WakeBatch { get; init; } = 16;
}
