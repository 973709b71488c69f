using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Simulation;
using Wirestack.Sockets;

namespace Wirestack.Cli.Scenarios;

/// <summary>
/// The receiving side of a bulk transfer, read as an event loop would: each readiness change posts a non-blocking
/// drain to the simulator, so the sender's blocking sends on the other host make progress while this side consumes.
/// The bytes are counted and hashed (SHA-256) as they arrive, never kept.
/// </summary>
internal sealed class HashingDrain : IDisposable
{
    private readonly Simulator _sim;
    private readonly NetSocket _socket;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer = new byte[64 * 1024];
    private byte[]? _digest;
    private bool _posted;

    public HashingDrain(Simulator sim, NetSocket socket)
    {
        _sim = sim;
        _socket = socket;
        socket.Blocking = false;
        socket.ReadinessChanged += _ => Schedule();
        Schedule();
    }

    public long BytesReceived { get; private set; }

    /// <summary>True once the peer's FIN (end of stream) or an error has been read.</summary>
    public bool Finished { get; private set; }

    /// <summary>The error that ended the stream, or Success when it ended with the peer's FIN.</summary>
    public SocketError Error { get; private set; }

    /// <summary>SHA-256 of every byte received (available once <see cref="Finished"/>).</summary>
    public byte[] Digest => _digest ??= _hash.GetHashAndReset();

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

    public void Dispose() => _hash.Dispose();
}
