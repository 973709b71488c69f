namespace Wirestack.Diagnostics;

/// <summary>IPv4 counters, named after RFC 4293 IP-MIB (ipSystemStats*) as <c>netstat -s</c> / <c>/proc/net/snmp</c> show them.</summary>
public sealed class IPCounters
{
    public long InReceives;
    public long InHdrErrors;
    public long InAddrErrors;
    public long InUnknownProtos;
    public long InDiscards;
    public long InDelivers;
    public long InNoRoutes;
    public long InTruncatedPkts;
    public long InCsumErrors;
    public long OutRequests;
    public long OutDiscards;
    public long OutNoRoutes;
    public long ReasmTimeout;
    public long ReasmReqds;
    public long ReasmOKs;
    public long ReasmFails;
    public long ReasmOverlaps;
    public long FragOKs;
    public long FragFails;
    public long FragCreates;
    public long ForwDatagrams;

    /// <summary>Packets held back while their route was resolving (larval), and those dropped for it.</summary>
    public long OutLarvalQueued;
    public long OutLarvalDrops;
}
