namespace Wirestack.IP;

/// <summary>IP-level knobs (the <c>net.ipv4.*</c> sysctls of this layer).</summary>
public sealed class IPv4Options
{
    /// <summary><c>ip_default_ttl</c>.</summary>
    public byte DefaultTtl { get; set; } = 64;

    /// <summary><c>ipfrag_time</c>: how long an incomplete datagram is kept.</summary>
    public TimeSpan ReassemblyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary><c>ipfrag_high_thresh</c>: bytes of fragments held at most.</summary>
    public int ReassemblyMaxBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Datagrams under reassembly at most.</summary>
    public int ReassemblyMaxDatagrams { get; set; } = 64;

    /// <summary>Packets the stack takes from one device in one poll (<c>dev_weight</c>, NAPI budget).</summary>
    public int RxBudget { get; set; } = 64;

    /// <summary>The xfrm_larval_drop of seed 003: while a route is being resolved, drop packets (true, Linux's
    /// default) or queue them, bounded (false).</summary>
    public bool LarvalDrop { get; set; } = true;

    /// <summary>Packets queued per pending route when <see cref="LarvalDrop"/> is off.</summary>
    public int LarvalQueueLimit { get; set; } = 64;
}
