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
    /// full is dropped and counted as rx_missed_errors. Each slot's buffer (MTU bytes) is allocated the first time
    /// the slot is used.</summary>
    public int RingSlots { get; init; } = 1024;

    /// <summary>The reader wakes the stack after at most this many packets, and at the end of every burst.</summary>
    public int WakeBatch { get; init; } = 16;
}
