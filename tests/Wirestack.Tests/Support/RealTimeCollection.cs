namespace Wirestack.Tests.Support;

/// <summary>Tests that run stacks on real threads (the real-time driver, the background simulation loop, Kestrel)
/// run one at a time, apart from the parallel virtual-time tests, so CPU contention cannot starve them.</summary>
[CollectionDefinition("RealTime", DisableParallelization = true)]
public sealed class RealTimeCollection
{
}
