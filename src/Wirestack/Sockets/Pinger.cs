using System.Net.Sockets;
using Wirestack.Icmp;
using Wirestack.Stack;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Sockets;

/// <summary>An ICMP echo client (ping): sends requests and records the round-trip time of each reply.</summary>
public sealed class Pinger : IEchoReplyListener, IDisposable
{
    private readonly NetStack _stack;
    private readonly Dictionary<ushort, Instant> _sent = new();

    public Pinger(NetStack stack, ushort identifier)
    {
        _stack = stack;
        Identifier = identifier;
        lock (stack.SyncRoot)
        {
            stack.Icmp.RegisterEchoListener(identifier, this);
        }
    }

    public ushort Identifier { get; }

    /// <summary>Replies received: sequence number and round-trip time.</summary>
    public List<(ushort Sequence, TimeSpan Rtt)> Replies { get; } = [];

    public int Sent { get; private set; }

    public SocketError Send(IPv4Address destination, ushort sequence, int payloadSize = 56)
    {
        lock (_stack.SyncRoot)
        {
            Span<byte> payload = stackalloc byte[Math.Clamp(payloadSize, 0, 1400)];
            for (int i = 0; i < payload.Length; i++)
            {
                payload[i] = (byte)(0x10 + i);
            }

            Instant now = _stack.Now;
            SocketError error = _stack.Icmp.SendEcho(destination, Identifier, sequence, payload, now);
            if (error == SocketError.Success)
            {
                _sent[sequence] = now;
                Sent++;
            }

            return error;
        }
    }

    public bool HasReply(ushort sequence) => Replies.Exists(r => r.Sequence == sequence);

    public void OnEchoReply(IPv4Address from, ushort sequence, ReadOnlySpan<byte> payload, Instant now)
    {
        if (_sent.Remove(sequence, out Instant sentAt))
        {
            Replies.Add((sequence, now - sentAt));
        }
    }

    public void Dispose()
    {
        lock (_stack.SyncRoot)
        {
            _stack.Icmp.UnregisterEchoListener(Identifier);
        }
    }
}
