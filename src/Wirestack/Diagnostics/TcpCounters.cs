namespace Wirestack.Diagnostics;

/// <summary>TCP counters: RFC 4022 TCP-MIB names (Linux <c>Tcp:</c> row) and the Linux <c>TcpExt:</c> ones this
/// stack produces.</summary>
public sealed class TcpCounters
{
    // Tcp: (RFC 4022)
    public long ActiveOpens;
    public long PassiveOpens;
    public long AttemptFails;
    public long EstabResets;
    public long CurrEstab;
    public long InSegs;
    public long OutSegs;
    public long RetransSegs;
    public long InErrs;
    public long OutRsts;
    public long InCsumErrors;

    // TcpExt: (Linux /proc/net/netstat)
    public long ListenOverflows;
    public long ListenDrops;
    public long TCPTimeouts;
    public long TCPSynRetrans;
    public long TCPChallengeACK;
    public long TCPSACKRecovery;
    public long TCPRenoRecovery;
    public long TCPFastRetrans;
    public long TCPLossProbes;
    public long TCPLossProbeRecovery;
    public long TCPHystartTrainDetect;
    public long TCPHystartTrainCwnd;
    public long TCPHystartDelayDetect;
    public long TCPHystartDelayCwnd;
    public long TCPDSACKRecv;
    public long TCPSACKReneging;
    public long TCPOFOQueue;
    public long TCPOFODrop;
    public long TCPRcvQDrop;
    public long TCPZeroWindowDrop;

    /// <summary>LINUX_MIB_BEYOND_WINDOW (Linux 6.17): a segment, neither RST nor SYN, dropped as not acceptable because
    /// it starts beyond the receive window (answered with an ACK, RFC 9293 §3.10.7.4).</summary>
    public long BeyondWindow;
    public long TCPAbortOnData;
    public long TCPAbortOnClose;
    public long TCPAbortOnLinger;
    public long TCPAbortOnTimeout;
    public long TCPAbortOnMemory;
    public long TCPAbortFailed;
    public long PAWSEstab;
    public long TCPACKSkippedPAWS;
    public long OutOfWindowIcmps;
    public long TW;
    public long TWRecycled;
    public long TCPTimeWaitOverflow;
    public long SyncookiesSent;
    public long SyncookiesRecv;
    public long SyncookiesFailed;
    public long TCPReqQFullDrop;
    public long TCPReqQFullDoCookies;
    public long TCPDeferAcceptDrop;
    public long DelayedACKs;
    public long TCPPureAcks;
    public long TCPHPAcks;
    public long TCPKeepAlive;
    public long TCPWinProbe;
    public long TCPWantZeroWindowAdv;
    public long TCPToZeroWindowAdv;
    public long TCPFromZeroWindowAdv;
    public long TCPSpuriousRTOs;
    public long TCPFullUndo;
    public long TCPDSACKUndo;
    public long TCPDSACKOldSent;
    public long TCPDSACKOfoSent;
    public long TCPACKSkippedSynRecv;
    public long TCPACKSkippedChallenge;
    public long TCPSynRetransFailed;
    public long EmbryonicRsts;
    public long TCPMemoryPressures;
    public long TCPRcvCoalesce;
    public long TCPBacklogDrop;

    // Wirestack's own (no Linux equivalent): the half-open connect cap of seed 000.
    public long HalfOpenQueued;
    public long HalfOpenRejected;
}
