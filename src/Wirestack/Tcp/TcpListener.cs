using Wirestack.IP;
using Wirestack.Wire;

namespace Wirestack.Tcp;

/// <summary>A listening endpoint: its SYN queue (half-open connections in SYN-RECEIVED) and its accept queue
/// (established, not yet accepted), both bounded by the backlog (seed 004 §1.4).</summary>
public sealed class TcpListener
{
    private readonly LinkedList<TcpConnection> _acceptQueue = new();
    private readonly HashSet<TcpConnection> _synQueue = new(ReferenceEqualityComparer.Instance);
    private readonly Stack<LinkedListNode<TcpConnection>> _freeNodes = new(); // the accept queue's spent nodes, reused

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
        Enqueue(connection);
        Observer?.OnEndpointChanged();
    }

    internal void AddEstablished(TcpConnection connection)
    {
        Enqueue(connection);
        Observer?.OnEndpointChanged();
    }

    internal void Forget(TcpConnection connection)
    {
        _synQueue.Remove(connection);
        if (_acceptQueue.Find(connection) is { } node)
        {
            _acceptQueue.Remove(node);
            Recycle(node);
        }
    }

    /// <summary>Appends to the accept queue, reusing a spent node (the nodes never leave this class).</summary>
    private void Enqueue(TcpConnection connection)
    {
        if (_freeNodes.TryPop(out LinkedListNode<TcpConnection>? node))
        {
            node.Value = connection;
            _acceptQueue.AddLast(node);
        }
        else
        {
            _acceptQueue.AddLast(connection);
        }
    }

    private void Recycle(LinkedListNode<TcpConnection> node)
    {
        if (_freeNodes.Count < 64)
        {
            node.Value = null!; // the connection is not kept alive by a spent node
            _freeNodes.Push(node);
        }
    }

    internal TcpConnection? Dequeue()
    {
        LinkedListNode<TcpConnection>? first = _acceptQueue.First;
        if (first is null)
        {
            return null;
        }

        _acceptQueue.RemoveFirst();
        TcpConnection connection = first.Value;
        Recycle(first);
        return connection;
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
