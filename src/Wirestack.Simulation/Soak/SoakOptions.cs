using Wirestack.Links;

namespace Wirestack.Simulation.Soak;

/// <summary>What a soak runs: how many transfers of how many bytes, over which wire (seed 002's 200 KB transfers,
/// thousands of them back to back).</summary>
public sealed record SoakOptions
{
    public int Count { get; init; } = 5000;

    /// <summary>Bytes the server sends per transfer: 200 KiB, as in seed 002.</summary>
    public int Bytes { get; init; } = 200 * 1024;

    public int Seed { get; init; } = 2;

    public double Loss { get; init; } = 0.01;
    public double Reorder { get; init; } = 0.01;
    public double Duplicate { get; init; } = 0.01;
    public double Corrupt { get; init; } = 0.005;
    public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>The client shuts down its sending side right after the command, as <c>ncat host port &lt; /dev/null</c>
    /// does in seed 002 (off by default, so the default soak matches the plain seed-002 client).</summary>
    public bool HalfClose { get; init; }

    /// <summary>Whether the hosts offer SACK (RFC 2018), as Linux does by default.</summary>
    public bool Sack { get; init; } = true;

    /// <summary>Virtual time one transfer may take before it counts as a hang.</summary>
    public TimeSpan TransferLimit { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The write sizes the server cycles through: seed 002's 2048, 5000, 6500 and 8000, and a few odd ones.</summary>
    public IReadOnlyList<int> WriteSizes { get; init; } = [2048, 8000, 5000, 6500, 1, 48, 500, 65536];

    public LinkImpairments Impairments => new()
    {
        Loss = Loss,
        Reorder = Reorder,
        Duplicate = Duplicate,
        Corrupt = Corrupt,
        Delay = Delay,
        ReorderDelay = TimeSpan.FromMilliseconds(1),
    };
}

/// <summary>How a soak went. <see cref="BudgetInUseEnd"/> is both hosts' budgets after everything closed and time ran
/// past TIME-WAIT: it must be 0.</summary>
public sealed record SoakResult(
    int Count,
    int Ok,
    int Failed,
    long Bytes,
    TimeSpan Simulated,
    long Retransmits,
    long BudgetInUseEnd,
    int ConnectionsLeft,
    IReadOnlyList<string> Failures)
{
    public bool Passed => Failed == 0 && Ok == Count && BudgetInUseEnd == 0 && ConnectionsLeft == 0;
}
