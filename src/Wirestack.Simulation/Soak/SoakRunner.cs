using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Simulation.Soak;

/// <summary>
/// Seed 002's test, replayed: a client asks a server ("big N") for a transfer, the server answers with
/// <see cref="SoakOptions.Bytes"/> of recognisable data written in odd-sized chunks and closes; the client reads to
/// the end and checks SHA-256. Thousands of transfers back to back across a lossy, reordering, duplicating,
/// corrupting wire, in virtual time, with event-driven non-blocking sockets on both hosts (the single-threaded
/// simulator runs every handler, so nothing can deadlock on a lock, and a transfer that stops making progress is
/// reported as a hang with the states of both ends). Deterministic by seed.
/// </summary>
public sealed class SoakRunner
{
    public const ushort Port = 114; // the "wangdoodle" server of seed 002
    public static readonly IPv4Address ClientAddress = IPv4Address.Parse("10.0.0.1");
    public static readonly IPv4Address ServerAddress = IPv4Address.Parse("10.0.0.2");

    private readonly SoakOptions _options;
    private readonly Simulator _sim;
    private readonly NetStack _client;
    private readonly NetStack _server;
    private readonly List<string> _failures = [];
    private NetSocket? _listener;
    private bool _acceptPosted;
    private bool _listenerClosed;

    public SoakRunner(SoakOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.Count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Bytes);
        _options = options;
        _sim = new Simulator(options.Seed);
        _client = _sim.AddHost("client", HostOptions(options));
        _server = _sim.AddHost("server", HostOptions(options));
        _sim.Connect(_client, ClientAddress + "/24", _server, ServerAddress + "/24", options.Impairments);
    }

    private static NetStackOptions HostOptions(SoakOptions options)
    {
        var host = new NetStackOptions();
        host.Tcp.Sack = options.Sack;
        return host;
    }

    public Simulator Simulator => _sim;

    public NetStack Client => _client;

    public NetStack Server => _server;

    /// <summary>Runs every transfer; <paramref name="progress"/> hears (done, failed) after each.</summary>
    public SoakResult Run(Action<int, int>? progress = null)
    {
        Instant start = _sim.Now;
        _listener = new NetSocket(_server, SocketType.Stream) { Blocking = false };
        _listener.Bind(new IPEndPoint(IPAddress.Any, Port));
        _listener.Listen(64);
        _listener.ReadinessChanged += _ => ScheduleAccept();

        int ok = 0;
        long bytes = 0;
        for (int i = 0; i < _options.Count; i++)
        {
            if (Transfer(i, out long received))
            {
                ok++;
            }

            bytes += received;
            progress?.Invoke(i + 1, i + 1 - ok);
        }

        _listenerClosed = true;
        _listener.Close();
        // Everything closed: run on past TIME-WAIT (and any retries) so both stacks can give every buffer back.
        _sim.RunFor(_client.Tcp.Settings.TimeWait + TimeSpan.FromMinutes(5));
        long budget = _client.Budget.InUse + _server.Budget.InUse;
        int left = _client.Tcp.ConnectionCount + _server.Tcp.ConnectionCount;
        long retransmits = _client.Counters.Tcp.RetransSegs + _server.Counters.Tcp.RetransSegs;
        return new SoakResult(_options.Count, ok, _options.Count - ok, bytes, _sim.Now - start, retransmits, budget, left, _failures);
    }

    // ---- one transfer -----------------------------------------------------------------------------------------

    private bool Transfer(int index, out long received)
    {
        var client = new ClientSession(this, index);
        Instant deadline = _sim.Now + _options.TransferLimit;
        bool finished = _sim.RunUntilCore(() => client.Finished, deadline);
        received = client.Received;
        client.Abandon();
        string? problem = !finished
            ? $"hang: no end after {_options.TransferLimit.TotalSeconds:0} s of virtual time ({client.Received} of {_options.Bytes} B read; " +
              $"client {Describe(client.Socket.Connection)}; server {Describe(ServerSide(client.Socket.Connection))})"
            : client.Error != SocketError.Success
                ? $"client error {client.Error} after {client.Received} B: {client.Socket.ErrorCause}"
                : client.Received != _options.Bytes
                    ? $"{client.Received} of {_options.Bytes} B arrived before the end of the stream"
                    : !client.Digest.AsSpan().SequenceEqual(Expected(index).Digest)
                        ? "SHA-256 mismatch: the bytes differ"
                        : null;
        client.Socket.Close();
        if (problem is not null)
        {
            _failures.Add($"transfer {index} (seed {_options.Seed}, {_sim.Now}): {problem}");
        }

        return problem is null;
    }

    private TcpConnection? ServerSide(TcpConnection? client) => client is null ? null :
        _server.Tcp.Connections.FirstOrDefault(c => c.Tuple.RemotePort == client.Tuple.LocalPort && c.Tuple.LocalPort == client.Tuple.RemotePort);

    private static string Describe(TcpConnection? c) => c is null ? "gone" :
        $"{c.State} rcv.nxt {c.RcvNxt} recv-q {c.ReceiveQueued} ooo {c.OutOfOrderBytes} snd.una {c.SndUna} snd.nxt {c.SndNxt} " +
        $"flight {c.FlightSize} send-q {c.SendQueued} snd.wnd {c.SendWindow} cwnd {c.Congestion?.Cwnd} timer {c.TimerName} {c.NextDeadline} " +
        $"rexmits {c.Retransmits}{(c.PendingError != SocketError.Success ? $" error {c.PendingError}" : "")}";

    /// <summary>The bytes of transfer <paramref name="index"/>: seeded random data whose last 500 bytes say where
    /// they are (seed 002 made the end of the data recognisable), and their digest.</summary>
    private (byte[] Data, byte[] Digest) Expected(int index)
    {
        if (_expected is { } cached && cached.Index == index)
        {
            return (cached.Data, cached.Digest);
        }

        byte[] data = new byte[_options.Bytes];
        new Random(HashCode.Combine(_options.Seed, index)).NextBytes(data);
        byte[] tail = Encoding.ASCII.GetBytes($"[end of transfer {index}]");
        for (int at = Math.Max(0, data.Length - 500); at < data.Length; at += tail.Length)
        {
            tail.AsSpan(0, Math.Min(tail.Length, data.Length - at)).CopyTo(data.AsSpan(at));
        }

        _expected = (index, data, SHA256.HashData(data));
        return (data, _expected.Value.Digest);
    }

    private (int Index, byte[] Data, byte[] Digest)? _expected;

    // ---- the server: accept, read "big N\n", send, close ---------------------------------------------------------

    private void ScheduleAccept()
    {
        if (_acceptPosted)
        {
            return;
        }

        _acceptPosted = true;
        _sim.Post(() =>
        {
            _acceptPosted = false;
            while (!_listenerClosed && _listener!.Accept(out _) is { } accepted)
            {
                _ = new ServerSession(this, accepted);
            }
        });
    }

    /// <summary>Runs <paramref name="pump"/> on the simulator whenever <paramref name="socket"/>'s readiness changes
    /// (once per burst of changes), and once now.</summary>
    private void Drive(NetSocket socket, Action pump)
    {
        bool posted = false;
        void Schedule()
        {
            if (posted)
            {
                return;
            }

            posted = true;
            _sim.Post(() =>
            {
                posted = false;
                pump();
            });
        }

        socket.ReadinessChanged += _ => Schedule();
        Schedule();
    }

    private sealed class ServerSession
    {
        private readonly SoakRunner _runner;
        private readonly NetSocket _socket;
        private readonly StringBuilder _command = new();
        private byte[]? _data;
        private int _sent;
        private int _write;
        private bool _done;

        public ServerSession(SoakRunner runner, NetSocket socket)
        {
            _runner = runner;
            _socket = socket;
            socket.Blocking = false;
            runner.Drive(socket, Pump);
        }

        private void Pump()
        {
            if (_done)
            {
                return;
            }

            if (_data is null && !ReadCommand())
            {
                return;
            }

            IReadOnlyList<int> sizes = _runner._options.WriteSizes;
            while (_sent < _data!.Length)
            {
                int size = Math.Min(sizes[_write % sizes.Count], _data.Length - _sent);
                int n = _socket.Send(_data.AsSpan(_sent, size), out SocketError error);
                _sent += n;
                if (error is not (SocketError.Success or SocketError.WouldBlock))
                {
                    Finish(); // the client went away; the client's side reports the failure
                    return;
                }

                if (n < size)
                {
                    return; // the send buffer is full: wait for writability
                }

                _write++;
            }

            Finish(); // close(): a FIN follows the queued data
        }

        private bool ReadCommand()
        {
            Span<byte> buffer = stackalloc byte[64];
            while (true)
            {
                int n = _socket.Receive(buffer, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    return false;
                }

                if (error != SocketError.Success || n == 0)
                {
                    Finish();
                    return false;
                }

                _command.Append(Encoding.ASCII.GetString(buffer[..n]));
                string text = _command.ToString();
                int newline = text.IndexOf('\n', StringComparison.Ordinal);
                if (newline >= 0)
                {
                    string[] words = text[..newline].Split(' ');
                    if (words.Length != 2 || words[0] != "big" || !int.TryParse(words[1], out int index))
                    {
                        Finish();
                        return false;
                    }

                    _data = _runner.Expected(index).Data;
                    return true;
                }
            }
        }

        private void Finish()
        {
            _done = true;
            _socket.Close();
        }
    }

    // ---- the client: connect, "big N\n", read to the end -----------------------------------------------------

    private sealed class ClientSession
    {
        private readonly SoakRunner _runner;
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly byte[] _request;
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _requestSent;

        public ClientSession(SoakRunner runner, int index)
        {
            _runner = runner;
            _request = Encoding.ASCII.GetBytes($"big {index}\n");
            Socket = new NetSocket(runner._client, SocketType.Stream) { Blocking = false };
            SocketError error = Socket.Connect(ServerAddress, Port);
            if (error is not (SocketError.InProgress or SocketError.Success))
            {
                End(error);
                return;
            }

            runner.Drive(Socket, Pump);
        }

        public NetSocket Socket { get; }

        public bool Finished { get; private set; }

        public SocketError Error { get; private set; }

        public long Received { get; private set; }

        public byte[] Digest { get; private set; } = [];

        private void Pump()
        {
            if (Finished)
            {
                return;
            }

            TcpConnection? c = Socket.Connection;
            if (c is null || c.State is TcpState.SynSent or TcpState.SynReceived)
            {
                if (c is { PendingError: not SocketError.Success } failed)
                {
                    End(failed.PendingError);
                }

                return; // still connecting
            }

            while (_requestSent < _request.Length)
            {
                int n = Socket.Send(_request.AsSpan(_requestSent), out SocketError error);
                _requestSent += n;
                if (error == SocketError.WouldBlock)
                {
                    return;
                }

                if (error != SocketError.Success)
                {
                    End(error);
                    return;
                }

                if (_requestSent == _request.Length && _runner._options.HalfClose)
                {
                    Socket.Shutdown(SocketShutdown.Send); // ncat ... < /dev/null
                }
            }

            while (true)
            {
                int n = Socket.Receive(_buffer, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    return;
                }

                if (error != SocketError.Success || n == 0)
                {
                    End(error);
                    return;
                }

                _hash.AppendData(_buffer, 0, n);
                Received += n;
            }
        }

        /// <summary>Stops reacting to the socket (before it is closed, whether or not the transfer ended).</summary>
        public void Abandon()
        {
            if (!Finished)
            {
                End(SocketError.TimedOut);
            }
        }

        private void End(SocketError error)
        {
            Error = error;
            Digest = _hash.GetHashAndReset();
            _hash.Dispose();
            Finished = true;
        }
    }
}
