using Wirestack.IP;
using Wirestack.Stack;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Simulation;

/// <summary>
/// One stack on a <see cref="CaptureLink"/>, in virtual time: a test plays the remote peer segment by segment
/// (smoltcp's send!/recv!, gVisor's context/checker, packetdrill's inbound/outbound lines).
/// </summary>
public sealed class HostHarness : IStackWaiter
{
    public HostHarness(NetStackOptions? options = null, string localAddress = "192.168.0.1/24", int seed = 1)
    {
        options ??= new NetStackOptions();
        options.Seed = seed;
        Clock = new VirtualClock();
        Stack = new NetStack(options, () => Clock.Now) { Waiter = this };
        Link = new CaptureLink();
        Interface = Stack.AddInterface(Link, IPv4Cidr.Parse(localAddress));
        Local = Interface.Address.Address;
    }

    public VirtualClock Clock { get; }

    public NetStack Stack { get; }

    public CaptureLink Link { get; }

    public NetInterface Interface { get; }

    public IPv4Address Local { get; }

    public Instant Now => Clock.Now;

    /// <summary>Delivers a datagram from the wire and lets the stack process it at the current instant.</summary>
    /// <summary>Hands <paramref name="datagram"/> to the stack as received, then polls it.
    /// <paramref name="gsoSize"/> marks it a large segment of that MSS (as a GRO'd or virtio-net packet is).</summary>
    public void Inject(ReadOnlySpan<byte> datagram, int gsoSize = 0)
    {
        Link.Inject(datagram, gsoSize);
        Poll();
    }

    public void Poll()
    {
        lock (Stack.SyncRoot)
        {
            for (int i = 0; i < 1000 && Stack.Poll(Clock.Now); i++)
            {
            }
        }
    }

    /// <summary>Moves virtual time forward, firing every stack timer due meanwhile at its exact time.</summary>
    public void Advance(TimeSpan duration) => AdvanceTo(Clock.Now + duration);

    public void AdvanceTo(Instant target)
    {
        while (true)
        {
            Instant? next;
            lock (Stack.SyncRoot)
            {
                next = Stack.PollAt;
            }

            if (next is null || next.Value > target)
            {
                break;
            }

            if (next.Value > Clock.Now)
            {
                Clock.AdvanceTo(next.Value);
            }

            Poll();
        }

        if (target > Clock.Now)
        {
            Clock.AdvanceTo(target);
        }

        Poll();
    }

    /// <summary>Takes the datagrams sent so far.</summary>
    public List<(Instant Time, byte[] Bytes)> TakeSent()
    {
        var sent = new List<(Instant, byte[])>(Link.Sent);
        Link.Sent.Clear();
        return sent;
    }

    /// <summary>Blocking calls made on the harness's stack advance time until they can finish (or the deadline).</summary>
    public bool WaitUntil(Func<bool> condition, Instant? deadline)
    {
        Instant limit = deadline ?? Clock.Now + TimeSpan.FromDays(1);
        while (!condition())
        {
            Instant? next;
            lock (Stack.SyncRoot)
            {
                next = Stack.PollAt;
            }

            if (next is null || next.Value > limit)
            {
                if (deadline is not null && Clock.Now < limit)
                {
                    Clock.AdvanceTo(limit);
                }

                return condition();
            }

            if (next.Value > Clock.Now)
            {
                Clock.AdvanceTo(next.Value);
            }

            Poll();
        }

        return true;
    }

    public void Notify()
    {
    }
}
