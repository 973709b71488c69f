namespace Wirestack.Simulation.Scenarios;

/// <summary>The scenario library, in the order <c>wirestack scenario list</c> shows it.</summary>
public static class ScenarioRegistry
{
    public static IReadOnlyList<IScenario> All { get; } =
    [
        new SynTimeoutScenario(),
        new RefusedScenario(),
        new BacklogOverflowScenario(),
        new BrokenPipeScenario(),
        new UdpRcvbufScenario(),
        new RingOverflowScenario(),
        new EnobufsScenario(),
        new HalfOpenLimitScenario(),
        new BigSendScenario(),
        new LarvalScenario(),
        new ZeroWindowScenario(),
        new KeepaliveScenario(),
        new SynFloodScenario(),
    ];

    /// <summary>The scenario called <paramref name="name"/> (case-insensitive), or null.</summary>
    public static IScenario? Find(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
}
