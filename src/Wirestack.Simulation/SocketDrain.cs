using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Sockets;

namespace Wirestack.Simulation;

/// <summary>
/// Reads a socket as an event loop would: each readiness change posts a non-blocking drain to the simulator, so a
/// blocking writer on another host makes progress while this side consumes. Counts and hashes (SHA-256) what
/// arrives; <see cref="Paused"/> stops reading (a reader that has stopped) until it is cleared. Used by scenarios,
/// the CLI's transfers and tests alike.
/// </summary>
public sealed class SocketDrain : IDisposable
{
    private readonly Simulator _sim;
    private readonly NetSocket _socket;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer;
    private byte[]? _digest;
    private bool _posted;
    private bool _paused;
    private bool _disposed;

    /// <param name="sim">The simulator whose context runs the reads.</param>
    /// <param name="socket">The socket to read; it is made non-blocking.</param>
    /// <param name="readSize">Bytes asked for per receive call.</param>
    /// <param name="paused">Start without reading.</param>
    public SocketDrain(Simulator sim, NetSocket socket, int readSize = 64 * 1024, bool paused = false)
    {
        _sim = sim;
        _socket = socket;
        _buffer = new byte[readSize];
        _paused = paused;
        socket.Blocking = false;
        socket.ReadinessChanged += _ => Schedule();
        Schedule();
    }

    public long BytesReceived { get; private set; }

    /// <summary>True once end of stream or an error has been read.</summary>
    public bool Finished { get; private set; }

    /// <summary>The error that ended the stream (Success: the peer's FIN).</summary>
    public SocketError Error { get; private set; }

    /// <summary>SHA-256 of every byte read (once <see cref="Finished"/>).</summary>
    public byte[] Digest => _digest ??= _hash.GetHashAndReset();

    /// <summary>While true, nothing is read (the receive buffer fills and the window closes).</summary>
    public bool Paused
    {
        get => _paused;
        set
        {
            _paused = value;
            if (!value)
            {
                Schedule();
            }
        }
    }

    private void Schedule()
    {
        if (_posted || Finished || _paused || _disposed)
        {
            return;
        }

        _posted = true;
        _sim.Post(Run);
    }

    private void Run()
    {
        _posted = false;
        while (!Finished && !_paused && !_disposed)
        {
            int n = _socket.Receive(_buffer, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                return;
            }

            if (error != SocketError.Success || n == 0)
            {
                Error = error;
                Finished = true;
                return;
            }

            _hash.AppendData(_buffer, 0, n);
            BytesReceived += n;
        }
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _digest ??= _hash.GetHashAndReset();
            _hash.Dispose();
        }
    }
}
