using Wirestack.Time;

namespace Wirestack.Stack;

/// <summary>
/// How a blocking call waits. It is called with the stack's lock held and must release it while waiting (the Kyu
/// lesson of seed 002: a wait that keeps the big lock deadlocks the packet input that would end it). The real-time
/// driver waits on a monitor; the simulator runs simulated time forward until the condition holds.
/// </summary>
public interface IStackWaiter
{
    /// <summary>Waits until <paramref name="condition"/> is true or <paramref name="deadline"/> passes (null: no
    /// deadline). Returns the condition's final value.</summary>
    bool WaitUntil(Func<bool> condition, Instant? deadline);

    /// <summary>Something changed that a waiter may be waiting for.</summary>
    void Notify();
}
