namespace Wirestack.Cli.Scenarios;

/// <summary>What a <see cref="PingRun"/> saw.</summary>
internal sealed class PingResult
{
    public int Sent { get; set; }

    public int Errors { get; set; }

    public int Received => Rtts.Count;

    public List<TimeSpan> Rtts { get; } = [];

    public TimeSpan Elapsed { get; set; }

    public double LossPercent => Sent == 0 ? 100 : 100.0 * (Sent - Received) / Sent;
}
