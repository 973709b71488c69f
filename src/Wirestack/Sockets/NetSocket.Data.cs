// The data calls of NetSocket: send, receive and their UDP forms (datagram calls on a connected or bound socket).
using System.Net;
using System.Net.Sockets;
using Wirestack.IP;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Udp;
using Wirestack.Wire;

namespace Wirestack.Sockets;

public sealed partial class NetSocket
{
    // ---- data -------------------------------------------------------------------------------------------------------

    public int Send(ReadOnlySpan<byte> data)
    {
        int n = Send(data, out SocketError error);
        return error == SocketError.Success ? n : throw Error(error);
    }

    /// <summary>send(). Blocking: every byte is queued before it returns (waiting for buffer space as the peer
    /// acknowledges), never a silent truncation (seed 002). Non-blocking: the count accepted, or WouldBlock.</summary>
    /// <param name="data">The bytes to send.</param>
    /// <param name="error">Success, WouldBlock, or why the connection cannot send.</param>
    /// <param name="more">Linux's MSG_MORE (TCP): more data follows at once, so a partial segment at the end of this
    /// write waits, as under TCP_CORK, and carries no PSH.</param>
    public int Send(ReadOnlySpan<byte> data, out SocketError error, bool more = false)
    {
        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            if (TrySendWithoutTcp(data, out int sent, out error) || _tcp is null)
            {
                return sent;
            }

            int total = 0;
            while (true)
            {
                int n = _tcp.Send(data[total..], Now, out error, more);
                total += n;
                TcpConnection connection = _tcp;
                if (error == SocketError.NoBufferSpaceAvailable && Blocking)
                {
                    // seed 000: a blocking send waits for the stack's budget to come back instead of failing
                    var budget = _stack.Budget;
                    int chunk = _stack.Tcp.Settings.SocketChunkSize;
                    if (!WaitFor(static s => s.budget.CanCharge(s.chunk, Wirestack.Buffers.BudgetCause.SendBuffer) || s.connection.PendingError != SocketError.Success || !s.connection.IsConnected,
                            (budget, chunk, connection), SendTimeout, out SocketError budgetWait))
                    {
                        error = budgetWait == SocketError.TimedOut ? SocketError.NoBufferSpaceAvailable : budgetWait;
                        break;
                    }

                    continue;
                }

                if (total == data.Length || (error != SocketError.Success && error != SocketError.WouldBlock))
                {
                    break;
                }

                if (!Blocking)
                {
                    break;
                }

                if (!WaitFor(static c => c.CanWrite || c.CanQueue, connection, SendTimeout, out SocketError waitError))
                {
                    error = waitError;
                    break;
                }
            }

            if (total > 0 && error is SocketError.WouldBlock or SocketError.TimedOut)
            {
                error = SocketError.Success; // a partial send reports its count
            }
            else if (total > 0 && error != SocketError.Success)
            {
                // bytes were queued before the failure: report them; the error surfaces on the next call
                error = SocketError.Success;
            }

            return total;
        }
    }

    public int Receive(Span<byte> buffer)
    {
        int n = Receive(buffer, out SocketError error);
        return error == SocketError.Success ? n : throw Error(error);
    }

    /// <summary>recv(): returns 0 at end of stream.</summary>
    public int Receive(Span<byte> buffer, out SocketError error)
    {
        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            if (_udp is not null)
            {
                return ReceiveFromCore(buffer, out _, out _, out error);
            }

            if (_tcp is null)
            {
                error = SocketError.NotConnected;
                return 0;
            }

            TcpConnection connection = _tcp;
            if (NeverConnected(connection))
            {
                error = SocketError.NotConnected;
                return 0;
            }

            if (!WaitFor(static c => c.CanRead, connection, ReceiveTimeout, out error))
            {
                return 0;
            }

            return connection.Receive(buffer, Now, out error);
        }
    }

    public int SendTo(ReadOnlySpan<byte> data, IPEndPoint remote)
    {
        SocketError error = SendTo(data, ToV4(remote.Address), (ushort)remote.Port);
        return error == SocketError.Success ? data.Length : throw Error(error);
    }

    public SocketError SendTo(ReadOnlySpan<byte> data, IPv4Address address, ushort port)
    {
        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            if (_udp is null)
            {
                return SocketError.OperationNotSupported;
            }

            return _stack.Udp.SendTo(_udp, address, port, data, Now);
        }
    }

    /// <summary>recvfrom(): one datagram (truncated to the buffer, as recvfrom does); its sender.</summary>
    public int ReceiveFrom(Span<byte> buffer, out IPv4Address address, out ushort port, out SocketError error)
    {
        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            return ReceiveFromCore(buffer, out address, out port, out error);
        }
    }

    private int ReceiveFromCore(Span<byte> buffer, out IPv4Address address, out ushort port, out SocketError error)
    {
        address = default;
        port = 0;
        if (_udp is null)
        {
            error = SocketError.OperationNotSupported;
            return 0;
        }

        UdpEndpoint udp = _udp;
        if (!WaitFor(static u => u.QueuedDatagrams > 0 || u.PendingError != SocketError.Success, udp, ReceiveTimeout, out error))
        {
            return 0;
        }

        if (udp.PendingError != SocketError.Success)
        {
            // seed 004 §3.2 / RFC 1122 §4.1.3.3: an ICMP error on a connected UDP socket surfaces on the next call
            error = udp.PendingError;
            udp.PendingError = SocketError.Success;
            return 0;
        }

        udp.TryDequeue(buffer, out _, out int copied, out address, out port);
        error = SocketError.Success;
        return copied;
    }

    /// <summary>What a send decides before TCP queues anything: a UDP datagram on a connected socket goes out whole,
    /// and a socket with no connection (never connected, or closed without an error to report) fails. Returns false
    /// when the TCP connection is to take the data.</summary>
    private bool TrySendWithoutTcp(ReadOnlySpan<byte> data, out int sent, out SocketError error)
    {
        sent = 0;
        if (_udp is not null)
        {
            error = _udp.IsConnected ? _stack.Udp.SendTo(_udp, _udp.RemoteAddress, _udp.RemotePort, data, Now) : SocketError.NotConnected;
            sent = error == SocketError.Success ? data.Length : 0;
            return true;
        }

        if (_tcp is null)
        {
            error = SocketError.NotConnected;
            return true;
        }

        if (_tcp.State is TcpState.Closed && _tcp.PendingError == SocketError.Success)
        {
            error = _tcp.FinReceived ? SocketError.Shutdown : SocketError.NotConnected;
            return true;
        }

        error = SocketError.Success;
        return false;
    }
}
