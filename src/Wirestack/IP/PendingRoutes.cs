// Larval routes: the story of seed 003. A route may need asynchronous set-up before packets may use it (an IPsec
// security association being negotiated, a neighbour being resolved). Non-blocking callers must never wait for it:
// packets meanwhile are either dropped (LarvalDrop, like Linux's xfrm_larval_drop = 1; TCP's SYN retransmission
// covers the loss) or held in a bounded queue and sent when the resolver completes the route.
using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.IP;

/// <summary>The routes whose resolution is pending or has failed, and the packets held for them.</summary>
public sealed class PendingRoutes
{
    private readonly IPv4Layer _ip;
    private readonly Dictionary<Route, State> _states = new(ReferenceEqualityComparer.Instance);

    internal PendingRoutes(IPv4Layer ip) => _ip = ip;

    private sealed class State
    {
        public SocketError Failure;
        public readonly Queue<(NetInterface Iface, IPv4Header Header, PacketBuffer Packet)> Held = new();
    }

    public int Count => _states.Count;

    /// <summary>Marks <paramref name="route"/> as needing resolution: until <see cref="Complete"/> or
    /// <see cref="Fail"/>, packets for it are dropped or held as <see cref="IPv4Options.LarvalDrop"/> says.</summary>
    public void Begin(Route route) => _states[route] = new State();

    /// <summary>The resolver's hook: the route is ready. Held packets leave now, in order.</summary>
    public void Complete(Route route, Instant now)
    {
        if (!_states.Remove(route, out State? state))
        {
            return;
        }

        while (state.Held.TryDequeue(out var held))
        {
            _ip.Transmit(held.Iface, held.Header, held.Packet, now);
        }
    }

    /// <summary>The resolver's hook: the route cannot be resolved. Held packets are dropped and later output to it
    /// fails with <paramref name="error"/> (e.g. HostUnreachable) until <see cref="Clear"/>.</summary>
    public void Fail(Route route, SocketError error)
    {
        if (!_states.TryGetValue(route, out State? state))
        {
            state = new State();
            _states[route] = state;
        }

        state.Failure = error == SocketError.Success ? SocketError.HostUnreachable : error;
        DropHeld(state);
    }

    /// <summary>Forgets any pending or failed state of <paramref name="route"/>.</summary>
    public void Clear(Route route)
    {
        if (_states.Remove(route, out State? state))
        {
            DropHeld(state);
        }
    }

    public bool IsPending(Route route, out SocketError failure)
    {
        if (_states.TryGetValue(route, out State? state))
        {
            failure = state.Failure;
            return true;
        }

        failure = SocketError.Success;
        return false;
    }

    public int HeldCount(Route route) => _states.TryGetValue(route, out State? s) ? s.Held.Count : 0;

    internal SocketError Hold(Route route, NetInterface iface, IPv4Header header, PacketBuffer packet)
    {
        State state = _states[route];
        if (_ip.Options.LarvalDrop || state.Held.Count >= _ip.Options.LarvalQueueLimit)
        {
            _ip.Counters.OutLarvalDrops++;
            _ip.Counters.OutDiscards++;
            packet.Dispose();
            return SocketError.Success; // dropped like a lost packet: the transport's retransmission covers it
        }

        _ip.Counters.OutLarvalQueued++;
        state.Held.Enqueue((iface, header, packet));
        return SocketError.Success;
    }

    private void DropHeld(State state)
    {
        while (state.Held.TryDequeue(out var held))
        {
            _ip.Counters.OutLarvalDrops++;
            held.Packet.Dispose();
        }
    }
}
