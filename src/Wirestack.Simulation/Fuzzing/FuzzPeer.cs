using Wirestack.Sockets;
using Wirestack.Tcp;
using Wirestack.Wire;

namespace Wirestack.Simulation.Fuzzing;

/// <summary>The fuzzer's remote end of one connection: what it has sent, what it has seen the stack send, and the
/// options both sides offered. The stack's own state (RCV.NXT, SND.UNA) is read directly when it has a connection.</summary>
internal sealed class FuzzPeer(IPv4Address remoteAddress, ushort remotePort, ushort localPort, bool stackOpened)
{
    public IPv4Address RemoteAddress { get; } = remoteAddress;
    public ushort RemotePort { get; } = remotePort;
    public ushort LocalPort { get; } = localPort;

    /// <summary>True when the stack connected to this peer (the peer plays the server).</summary>
    public bool StackOpened { get; } = stackOpened;

    /// <summary>The stack's socket for this connection, once accepted or connected (null when closed by the fuzzer).</summary>
    public NetSocket? Socket { get; set; }

    public SeqNumber Iss { get; set; }

    /// <summary>The peer's next sequence number (used when the stack has no connection to ask).</summary>
    public SeqNumber Nxt { get; set; }

    public bool SentSyn { get; set; }
    public bool SawStackSyn { get; set; }
    public SeqNumber StackIss { get; set; }

    /// <summary>One past the highest sequence number the stack has sent (SYN and FIN included).</summary>
    public SeqNumber StackHigh { get; set; }

    public ushort StackWindow { get; set; } = 65535;

    public ushort? OfferMss { get; set; } = 1460;
    public byte? OfferWindowScale { get; set; }
    public bool OfferSack { get; set; }
    public bool OfferTimestamps { get; set; }

    public bool StackOfferedTimestamps { get; set; }
    public bool StackOfferedSack { get; set; }
    public bool StackOfferedWindowScale { get; set; }

    public bool Timestamps => OfferTimestamps && StackOfferedTimestamps;
    public bool Sack => OfferSack && StackOfferedSack;
    public int WindowShift => OfferWindowScale is { } s && StackOfferedWindowScale ? Math.Min((int)s, TcpOptions.MaxWindowScale) : 0;

    /// <summary>The peer's timestamp clock (TSval it sends next).</summary>
    public uint TsClock { get; set; }

    /// <summary>The stack's last TSval, echoed as TSecr.</summary>
    public uint TsEcr { get; set; }

    public long BytesFromStack { get; set; }

    public FourTuple Tuple(IPv4Address local) => new(local, LocalPort, RemoteAddress, RemotePort);

    public override string ToString() => $"{RemoteAddress}:{RemotePort}>{LocalPort}";
}
