namespace Wirestack.Diagnostics;

/// <summary>ICMP counters (RFC 4293 icmpStats / Linux <c>Icmp:</c> row).</summary>
public sealed class IcmpCounters
{
    public long InMsgs;
    public long InErrors;
    public long InCsumErrors;
    public long InDestUnreachs;
    public long InTimeExcds;
    public long InEchos;
    public long InEchoReps;
    public long OutMsgs;
    public long OutErrors;
    public long OutDestUnreachs;
    public long OutEchos;
    public long OutEchoReps;
    public long OutRateLimited;
}
