namespace Wirestack.Simulation.Scenarios;

/// <summary>
/// One failure story of a network stack, replayed in virtual time: it builds its network, plays the story, and
/// returns what happened (<see cref="ScenarioResult"/>): a timeline, the errors sockets reported with the stack's
/// explanation, and the counters that tell it. The same seed gives the same result, byte for byte.
/// </summary>
public interface IScenario
{
    /// <summary>The name the CLI knows it by ("syn-timeout").</summary>
    string Name { get; }

    /// <summary>One line: what the story shows.</summary>
    string Description { get; }

    ScenarioResult Run(ScenarioOptions options);
}

/// <summary>How to run a scenario.</summary>
public sealed record ScenarioOptions
{
    /// <summary>Seed of every random choice (ports, ISNs, impairments).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Where to write a pcap of every packet on every wire (left open); null: no capture.</summary>
    public Stream? PcapStream { get; init; }

    /// <summary>The hosts' profile: "linux" (default) or "freebsd" (<see cref="Stack.NetStackOptions.ForProfile"/>).</summary>
    public string Profile { get; init; } = "linux";

    /// <summary>The profiles <see cref="Profile"/> may name.</summary>
    public static IReadOnlyList<string> Profiles { get; } = ["linux", "freebsd"];
}
