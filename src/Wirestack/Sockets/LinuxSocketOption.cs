namespace Wirestack.Sockets;

/// <summary>Options Linux has and <see cref="System.Net.Sockets.SocketOptionName"/> does not (or names
/// differently), with their Linux names.</summary>
public enum LinuxSocketOption
{
    /// <summary>TCP_MAXSEG: the largest segment to send (bytes).</summary>
    TcpMaxSegment,
    /// <summary>TCP_SYNCNT: SYN retransmissions before connect gives up.</summary>
    TcpSynCount,
    /// <summary>TCP_USER_TIMEOUT (RFC 5482), milliseconds; 0 restores the default.</summary>
    TcpUserTimeout,
    /// <summary>TCP_KEEPIDLE, seconds.</summary>
    TcpKeepIdle,
    /// <summary>TCP_KEEPINTVL, seconds.</summary>
    TcpKeepInterval,
    /// <summary>TCP_KEEPCNT.</summary>
    TcpKeepCount,
    /// <summary>TCP_LINGER2, seconds: an orphan's FIN-WAIT-2 timeout (0: tcp_fin_timeout; negative: none, the
    /// connection is dropped; at most 120).</summary>
    TcpLinger2,
    /// <summary>TCP_CORK, 0 or 1: hold partial segments until uncorked (or an RTO passes with nothing in flight).</summary>
    TcpCork,
    /// <summary>TCP_DEFER_ACCEPT, seconds (a listener): a bare ACK does not complete a connection until data arrives
    /// or the period ends; kept as SYN-ACK timeouts, so getsockopt reports the period they span.</summary>
    TcpDeferAccept,
    /// <summary>TCP_NOTSENT_LOWAT, bytes: the most written data that may wait unsent (0: tcp_notsent_lowat).</summary>
    TcpNotSentLowat,
}
