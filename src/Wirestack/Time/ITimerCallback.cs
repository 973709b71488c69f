namespace Wirestack.Time;

/// <summary>Receives the expiry of a <see cref="TimerEntry"/> armed on a <see cref="TimerWheel"/>.</summary>
/// <remarks>
/// A protocol object (a TCP control block, a reassembly buffer) implements this once and embeds one
/// <see cref="TimerEntry"/> per timer it needs, so arming a timer never allocates.
/// </remarks>
public interface ITimerCallback
{
    /// <summary>Called by <see cref="TimerWheel.Advance"/> once per expiry. The entry is already disarmed,
    /// so the callback may re-arm it (or arm and cancel any other entry).</summary>
    /// <param name="entry">The entry that expired.</param>
    /// <param name="now">The time passed to <see cref="TimerWheel.Advance"/>.</param>
    void OnTimer(TimerEntry entry, Instant now);
}
