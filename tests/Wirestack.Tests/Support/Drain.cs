using System.Net.Sockets;
using Wirestack.Simulation;
using Wirestack.Sockets;

namespace Wirestack.Tests.Support;

/// <summary>Reads a socket as an event loop would: every readiness change posts a non-blocking drain to the
/// simulator, so a blocking writer on the other host makes progress while this side consumes.</summary>
internal sealed class Drain
{
    private readonly NetSocket _socket;
    private readonly Simulator _sim;
    private readonly byte[] _buffer = new byte[65536];
    private bool _posted;

    public Drain(Simulator sim, NetSocket socket)
    {
        _sim = sim;
        _socket = socket;
        socket.Blocking = false;
        socket.ReadinessChanged += _ => Schedule();
        Schedule();
    }

    public MemoryStream Received { get; } = new();

    public bool Finished { get; private set; }

    public SocketError Error { get; private set; }

    private void Schedule()
    {
        if (_posted || Finished)
        {
            return;
        }

        _posted = true;
        _sim.Post(Run);
    }

    private void Run()
    {
        _posted = false;
        while (!Finished)
        {
            int n = _socket.Receive(_buffer, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                return;
            }

            if (error != SocketError.Success)
            {
                Error = error;
                Finished = true;
                return;
            }

            if (n == 0)
            {
                Finished = true;
                return;
            }

            Received.Write(_buffer, 0, n);
        }
    }
}
