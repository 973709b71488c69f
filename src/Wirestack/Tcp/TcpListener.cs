using Wirestack.IP;
using Wirestack.Wire;

namespace Wirestack.Tcp;

/// <summary>A listening endpoint: its SYN queue (half-open connections in SYN-RECEIVED) and its accept queue
/// (established, not yet accepted), both bounded by the backlog (seed 004 §1.4).</summary>
public sealed class TcpListener
{
    private readonly LinkedList<TcpConnection> _acceptQueue = new();
    private readonly HashSet<TcpConnection> _synQueue = new(ReferenceEqualityComparer.Instance);

    internal TcpListener(IPv4Address address, ushort port, int backlog)
    {
        Address = address;
        Port = port;
        Backlog = backlog;
    }

    public IPv4Address Address { get; }

    public ushort Port { get; }

    /// <summary>listen()'s backlog after the somaxconn cap.</summary>
    public int Backlog { get; internal set; }

    public int SynQueueLength => _synQueue.Count;

    public int AcceptQueueLength => _acceptQueue.Count;

    public IEndpointObserver? Observer { get; set; }

    /// <summary>The listening socket's own (never connected) TCB: the options set on the listener, which every
    /// connection it creates inherits (Linux sk_clone_lock and tcp_create_openreq_child copy the listener's).</summary>
    public TcpConnection? Template { get; internal set; }

    internal bool IsClosed { get; set; }

    /// <summary>Linux's sk_acceptq_is_full: more than the backlog already waits (so backlog + 1 fit).</summary>
    internal bool AcceptQueueFull => _acceptQueue.Count > Backlog;

    /// <summary>Linux's inet_csk_reqsk_queue_is_full.</summary>
    internal bool SynQueueFull => _synQueue.Count >= Math.Max(Backlog, 1);

    internal void AddHalfOpen(TcpConnection connection) => _synQueue.Add(connection);

    internal void PromoteToAcceptQueue(TcpConnection connection)
    {
        _synQueue.Remove(connection);
        _acceptQueue.AddLast(connection);
        Observer?.OnEndpointChanged();
    }

    internal void AddEstablished(TcpConnection connection)
    {
        _acceptQueue.AddLast(connection);
        Observer?.OnEndpointChanged();
    }

    internal void Forget(TcpConnection connection)
    {
        _synQueue.Remove(connection);
        _acceptQueue.Remove(connection);
    }

    internal TcpConnection? Dequeue()
    {
        LinkedListNode<TcpConnection>? first = _acceptQueue.First;
        if (first is null)
        {
            return null;
        }

        _acceptQueue.RemoveFirst();
        return first.Value;
    }

    internal IEnumerable<TcpConnection> Drain()
    {
        var all = _acceptQueue.Concat(_synQueue).ToList();
        _acceptQueue.Clear();
        _synQueue.Clear();
        return all;
    }

    public override string ToString() => $"{Address}:{Port} LISTEN backlog {Backlog} (syn {SynQueueLength}, accept {AcceptQueueLength})";
}
