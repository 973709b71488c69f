using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Cli.Scenarios;

/// <summary>
/// One TCP bulk transfer in a simulation: the receiver listens and drains on readiness (<see cref="SocketDrain"/>),
/// the sender connects, does blocking sends of seeded random bytes, then shuts down its side; both sides hash what
/// they saw. Every step is reported through <see cref="Narrate"/> with the virtual time it happened at.
/// </summary>
internal sealed class BulkTransfer
{
    private const int ChunkBytes = 64 * 1024;

    private readonly Simulator _sim;
    private readonly NetStack _sender;
    private readonly NetStack _receiver;
    private readonly IPv4Address _receiverAddress;

    public BulkTransfer(Simulator sim, NetStack sender, NetStack receiver, IPv4Address receiverAddress)
    {
        _sim = sim;
        _sender = sender;
        _receiver = receiver;
        _receiverAddress = receiverAddress;
    }

    public ushort Port { get; init; } = 5001;

    /// <summary>When set, both sockets' buffers are set to this many bytes after the handshake
    /// (<see cref="TcpConnection.SetBufferSizesUnclamped"/>), so that the window is not the bottleneck. Null keeps
    /// the stack's defaults.</summary>
    public int? BufferBytes { get; init; }

    /// <summary>Called with (virtual time, what happened) at each step.</summary>
    public Action<Instant, string>? Narrate { get; init; }

    /// <summary>Virtual time allowed for the receiver to drain after the last send. Defaults to one day.</summary>
    public TimeSpan DrainLimit { get; init; } = TimeSpan.FromDays(1);

    public TransferResult Run(long bytes, int payloadSeed)
    {
        var run = new RunState(new TransferResult { BytesRequested = bytes }, _sim.Now, _sender.Counters.Tcp.RetransSegs);
        using var listener = new NetSocket(_receiver, SocketType.Stream);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, Port));
        listener.Listen(16);
        Say($"{_receiver.Name} listens on TCP port {Port}");
        using var client = new NetSocket(_sender, SocketType.Stream);
        using NetSocket? server = Connect(listener, client, run);
        if (server is not null)
        {
            Transfer(client, server, bytes, payloadSeed, run);
        }

        return run.Result;
    }

    /// <summary>The handshake and the accept; null (with the error recorded) when either fails.</summary>
    private NetSocket? Connect(NetSocket listener, NetSocket client, RunState run)
    {
        Say($"{_sender.Name} connects to {_receiverAddress}:{Port}");
        SocketError error = client.Connect(_receiverAddress, Port);
        if (error != SocketError.Success)
        {
            Finish(run, error, client.ErrorCause);
            return null;
        }

        run.Result.ConnectTime = _sim.Now - run.Start;
        Say($"connected, {client.LocalEndPoint} → {client.RemoteEndPoint}: the handshake (SYN, SYN-ACK, ACK) took {Units.FormatDuration(run.Result.ConnectTime)}");
        NetSocket? server = listener.Accept(out error);
        if (server is null)
        {
            Finish(run, error, "accept failed");
            return null;
        }

        Say($"{_receiver.Name} accepts the connection");
        if (BufferBytes is { } buffer)
        {
            client.Connection!.SetBufferSizesUnclamped(buffer, buffer);
            server.Connection!.SetBufferSizesUnclamped(buffer, buffer);
        }

        run.Result.SendBufferBytes = client.Connection!.SendBufferSize;
        return server;
    }

    /// <summary>Sends, shuts down the sending side, waits for the receiver to read the FIN, then closes both.</summary>
    private void Transfer(NetSocket client, NetSocket server, long bytes, int payloadSeed, RunState run)
    {
        using var drain = new SocketDrain(_sim, server);
        run.Drain = drain;
        Say($"{_sender.Name} sends {Units.FormatBytes(bytes)} of random data, then closes its side (FIN)");
        if (!SendAll(client, bytes, payloadSeed, run.Result))
        {
            Finish(run, run.Result.Error, client.ErrorCause);
            return;
        }

        client.Shutdown(SocketShutdown.Send);
        if (!_sim.RunUntilCore(() => drain.Finished, _sim.Now + DrainLimit))
        {
            Finish(run, SocketError.TimedOut, $"the receiver had not read everything after {DrainLimit.TotalSeconds:0} s of virtual time");
            return;
        }

        Finish(run, drain.Error, drain.Error == SocketError.Success ? null : server.ErrorCause);
        if (drain.Error != SocketError.Success)
        {
            return;
        }

        Say($"{_receiver.Name} has read {Units.FormatBytes(drain.BytesReceived)} and the FIN");
        client.Close();
        server.Close();
        TcpConnection? closing = client.Connection;
        _sim.RunUntilCore(() => closing is null || closing.State is TcpState.TimeWait or TcpState.Closed, _sim.Now + TimeSpan.FromSeconds(10));
    }

    /// <summary>Blocking sends of <paramref name="bytes"/> seeded random bytes; what the socket accepted is hashed.</summary>
    private bool SendAll(NetSocket client, long bytes, int payloadSeed, TransferResult result)
    {
        var random = new Random(payloadSeed);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] chunk = new byte[ChunkBytes];
        long remaining = bytes;
        while (remaining > 0)
        {
            int length = (int)Math.Min(chunk.Length, remaining);
            random.NextBytes(chunk.AsSpan(0, length));
            int offset = 0;
            while (offset < length)
            {
                int n = client.Send(chunk.AsSpan(offset, length - offset), out SocketError error);
                hash.AppendData(chunk, offset, n);
                offset += n;
                result.BytesSent += n;
                if (error != SocketError.Success || n == 0)
                {
                    result.Error = error == SocketError.Success ? SocketError.NoData : error;
                    result.ShaSent = hash.GetHashAndReset();
                    return false;
                }
            }

            remaining -= length;
        }

        result.ShaSent = hash.GetHashAndReset();
        return true;
    }

    /// <summary>Records how the transfer ended (Success or the error), at the virtual time it ended.</summary>
    private void Finish(RunState run, SocketError error, string? cause)
    {
        TransferResult result = run.Result;
        result.Error = error;
        result.Cause ??= cause;
        result.Simulated = _sim.Now - run.Start;
        result.Retransmits = _sender.Counters.Tcp.RetransSegs - run.RetransmitsBefore;
        if (run.Drain is { } drain)
        {
            result.BytesReceived = drain.BytesReceived;
            result.ShaReceived = drain.Digest;
        }
    }

    private void Say(string text) => Narrate?.Invoke(_sim.Now, text);

    /// <summary>One run's bookkeeping: its result, when it began, the sender's RetransSegs then, the receiver.</summary>
    private sealed class RunState(TransferResult result, Instant start, long retransmitsBefore)
    {
        public TransferResult Result { get; } = result;

        public Instant Start { get; } = start;

        public long RetransmitsBefore { get; } = retransmitsBefore;

        public SocketDrain? Drain { get; set; }
    }
}
