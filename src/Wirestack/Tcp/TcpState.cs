namespace Wirestack.Tcp;

/// <summary>RFC 9293 §3.3.2 connection states.</summary>
public enum TcpState
{
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

public static class TcpStateExtensions
{
    /// <summary>RFC 9293 §3.3.2: the synchronized states (every state after the handshake).</summary>
    public static bool IsSynchronized(this TcpState state) => state >= TcpState.Established;

    /// <summary>The names <c>ss</c> prints.</summary>
    public static string SsName(this TcpState state) => state switch
    {
        TcpState.Closed => "CLOSED",
        TcpState.Listen => "LISTEN",
        TcpState.SynSent => "SYN-SENT",
        TcpState.SynReceived => "SYN-RECV",
        TcpState.Established => "ESTAB",
        TcpState.FinWait1 => "FIN-WAIT-1",
        TcpState.FinWait2 => "FIN-WAIT-2",
        TcpState.CloseWait => "CLOSE-WAIT",
        TcpState.Closing => "CLOSING",
        TcpState.LastAck => "LAST-ACK",
        TcpState.TimeWait => "TIME-WAIT",
        _ => state.ToString(),
    };
}
