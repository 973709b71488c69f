namespace Wirestack.Links;

/// <summary>
/// What one direction of a <see cref="SimulatedWire"/> does to the packets it carries, in the spirit of Linux
/// <c>netem</c> + <c>tbf</c> and smoltcp's example flags. All decisions are drawn at send time from the wire's seeded
/// <see cref="Random"/>, so the outcome is a pure function of the seed and the traffic.
/// </summary>
/// <remarks>
/// Per packet, in this order: the MTU check; the rate limiter's queue (<see cref="QueueLimitBytes"/>, only when
/// <see cref="RateBitsPerSecond"/> is set); <see cref="Loss"/>; <see cref="Corrupt"/>; <see cref="Duplicate"/>;
/// <see cref="Reorder"/>; <see cref="Jitter"/>. Arrival = end of serialization + <see cref="Delay"/> + jitter, but never
/// before an earlier packet that was not held back, so jitter alone keeps the direction in FIFO order; a packet
/// picked for reordering arrives <see cref="ReorderDelay"/> later than it otherwise would, and later packets may pass it.
/// </remarks>
public sealed record LinkImpairments
{
    /// <summary>Default queue limit of a rate-limited direction: 256 KiB.</summary>
    public const int DefaultQueueLimitBytes = 256 * 1024;

    /// <summary>Default MTU: 1500 (Ethernet).</summary>
    public const int DefaultMtu = 1500;

    /// <summary>Smallest MTU an IPv4 link may have (RFC 791: "Every internet module must be able to forward a
    /// datagram of 68 octets without further fragmentation").</summary>
    public const int MinimumMtu = 68;

    /// <summary>Largest MTU: the largest IPv4 datagram.</summary>
    public const int MaximumMtu = 65535;

    /// <summary>A perfect wire: no loss, no delay, no rate limit, MTU 1500.</summary>
    public static LinkImpairments None { get; } = new();

    /// <summary>Probability (0..1) that a packet is lost. Defaults to 0.</summary>
    public double Loss { get; init; }

    /// <summary>Probability (0..1) that a packet is delivered twice (the copy arrives right after it). Defaults to 0.</summary>
    public double Duplicate { get; init; }

    /// <summary>Probability (0..1) that a packet is held back by <see cref="ReorderDelay"/>, letting later packets
    /// overtake it. Defaults to 0.</summary>
    public double Reorder { get; init; }

    /// <summary>Extra delay of a packet picked by <see cref="Reorder"/>. Defaults to 1 ms.</summary>
    public TimeSpan ReorderDelay { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Fixed one-way propagation delay. Defaults to 0.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Upper bound of a uniform random delay (0..Jitter, inclusive, in whole microseconds) added to
    /// <see cref="Delay"/>. Jitter never reorders packets by itself. Defaults to 0.</summary>
    public TimeSpan Jitter { get; init; }

    /// <summary>Probability (0..1) that one random bit of one random byte of a packet is flipped. Defaults to 0.</summary>
    public double Corrupt { get; init; }

    /// <summary>Line rate in bits per second; 0 means unlimited. A packet takes <c>8 × length / rate</c> seconds to
    /// serialize and waits behind the packets sent before it. Defaults to 0.</summary>
    public long RateBitsPerSecond { get; init; }

    /// <summary>The most bytes waiting for (or in) serialization on a rate-limited direction; a packet that would
    /// exceed it is dropped and counted (<c>tx_queue_drops</c>). Ignored when the rate is unlimited.
    /// Defaults to 256 KiB.</summary>
    public int QueueLimitBytes { get; init; } = DefaultQueueLimitBytes;

    /// <summary>The largest packet the sending port accepts; larger ones are dropped (<c>tx_dropped</c>).
    /// Defaults to 1500.</summary>
    public int Mtu { get; init; } = DefaultMtu;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first impossible value.</summary>
    public void Validate()
    {
        CheckProbability(Loss, nameof(Loss));
        CheckProbability(Duplicate, nameof(Duplicate));
        CheckProbability(Reorder, nameof(Reorder));
        CheckProbability(Corrupt, nameof(Corrupt));
        CheckDuration(ReorderDelay, nameof(ReorderDelay));
        CheckDuration(Delay, nameof(Delay));
        CheckDuration(Jitter, nameof(Jitter));
        if (RateBitsPerSecond < 0)
        {
            throw new ArgumentException($"{nameof(RateBitsPerSecond)} must be 0 (unlimited) or positive, not {RateBitsPerSecond}", nameof(RateBitsPerSecond));
        }

        if (QueueLimitBytes <= 0)
        {
            throw new ArgumentException($"{nameof(QueueLimitBytes)} must be positive, not {QueueLimitBytes}", nameof(QueueLimitBytes));
        }

        if (Mtu < MinimumMtu || Mtu > MaximumMtu)
        {
            throw new ArgumentException($"{nameof(Mtu)} must be between {MinimumMtu} and {MaximumMtu}, not {Mtu}", nameof(Mtu));
        }
    }

    private static void CheckProbability(double value, string name)
    {
        if (!(value >= 0 && value <= 1))
        {
            throw new ArgumentException($"{name} is a probability and must be between 0 and 1, not {value}", name);
        }
    }

    private static void CheckDuration(TimeSpan value, string name)
    {
        if (value < TimeSpan.Zero)
        {
            throw new ArgumentException($"{name} must not be negative, not {value}", name);
        }
    }
}
