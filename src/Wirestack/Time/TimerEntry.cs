namespace Wirestack.Time;

/// <summary>One timer slot owned by a protocol object, armed and cancelled on a <see cref="TimerWheel"/>.</summary>
/// <remarks>
/// The entry is an intrusive node of the wheel's slot lists: the links live here, so arming, moving and
/// cancelling never allocate. About 64 bytes per entry on a 64-bit runtime.
/// </remarks>
public sealed class TimerEntry
{
    /// <summary>Index of the list the entry sits in; see <see cref="TimerWheel"/>.</summary>
    internal int ListIndex;

    /// <summary>Next entry in the same circular list.</summary>
    internal TimerEntry? Next;

    /// <summary>Previous entry in the same circular list (the head's previous is the tail).</summary>
    internal TimerEntry? Previous;

    /// <summary>The wheel holding the entry, or <see langword="null"/> when not armed.</summary>
    internal TimerWheel? Wheel;

    private Instant _deadline;

    public TimerEntry(ITimerCallback callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        Callback = callback;
    }

    public ITimerCallback Callback { get; }

    public bool IsArmed => Wheel is not null;

    /// <summary>When the entry expires. Meaningful while <see cref="IsArmed"/>; after expiry it keeps the
    /// deadline it fired for. A deadline armed in the wheel's past reads as the wheel's time at arming.</summary>
    public Instant Deadline
    {
        get => _deadline;
        internal set => _deadline = value;
    }

    public override string ToString() => IsArmed ? $"TimerEntry(armed, {_deadline})" : "TimerEntry(idle)";
}
