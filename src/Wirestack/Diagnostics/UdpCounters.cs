namespace Wirestack.Diagnostics;

/// <summary>UDP counters (RFC 4113 UDP-MIB / Linux <c>Udp:</c> row, seed 004 §3.2).</summary>
public sealed class UdpCounters
{
    public long InDatagrams;
    public long NoPorts;
    /// <summary>All receive errors: checksum failures, malformed datagrams, full receive buffers.</summary>
    public long InErrors;
    public long OutDatagrams;
    /// <summary>Datagrams dropped because the socket's receive buffer was full.</summary>
    public long RcvbufErrors;
    public long SndbufErrors;
    public long InCsumErrors;
}
