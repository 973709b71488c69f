using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Stack;
using Wirestack.Wire;

namespace Wirestack.Cli.Scenarios;

/// <summary>Two hosts, <c>a</c> (10.0.0.1/24) and <c>b</c> (10.0.0.2/24), on one simulated wire.</summary>
internal sealed class SimulatedPair
{
    public static readonly IPv4Address AddressA = IPv4Address.Parse("10.0.0.1");
    public static readonly IPv4Address AddressB = IPv4Address.Parse("10.0.0.2");

    /// <param name="seed">The simulator's seed (hosts and wire draw theirs from it).</param>
    /// <param name="impairments">What the wire does, the same in both directions.</param>
    /// <param name="rxRingSlots">Receive ring slots of each port. Defaults to 256.</param>
    public SimulatedPair(int seed, LinkImpairments impairments, int rxRingSlots = 256)
    {
        Sim = new Simulator(seed);
        A = Sim.AddHost("a");
        B = Sim.AddHost("b");
        Wire = Sim.Connect(A, AddressA + "/24", B, AddressB + "/24", impairments, impairments, rxRingSlots);
    }

    public Simulator Sim { get; }

    public NetStack A { get; }

    public NetStack B { get; }

    public SimulatedWire Wire { get; }
}
