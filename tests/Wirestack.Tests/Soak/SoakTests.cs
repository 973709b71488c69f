using Wirestack.Simulation.Soak;

namespace Wirestack.Tests.Soak;

/// <summary>
/// Seed 002's soak: thousands of 200 KB transfers back to back between two simulated hosts under loss, reordering,
/// duplication and corruption, every one checked with SHA-256, none allowed to hang, both stacks' budgets back to
/// zero at the end. Virtual time only: 5,000 transfers (1 GB) take about 25 s of wall time in a Debug build.
/// <c>WIRESTACK_SOAK=N</c> runs N transfers instead.
/// </summary>
public sealed class SoakTests
{
    private static int Count =>
        int.TryParse(Environment.GetEnvironmentVariable("WIRESTACK_SOAK"), out int count) && count > 0 ? count : 5000;

    private static void AssertClean(SoakResult result, SoakOptions options)
    {
        Assert.True(result.Failures.Count == 0, $"{result.Failed} of {result.Count} transfers failed:{Environment.NewLine}" +
            string.Join(Environment.NewLine, result.Failures.Take(10)));
        Assert.Equal(options.Count, result.Ok);
        Assert.Equal((long)options.Count * options.Bytes, result.Bytes);
        Assert.Equal(0, result.BudgetInUseEnd);
        Assert.Equal(0, result.ConnectionsLeft);
        Assert.True(result.Retransmits > 0, "the wire's loss must have caused retransmissions");
        Assert.True(result.Passed);
    }

    [Fact]
    public void Seed002_TransfersUnderImpairments_WithoutSack_AllArriveIntact()
    {
        // SACK off: with it on, a timeout can fail to retransmit the left edge (FuzzFindingsTests,
        // KnownStackBug.RtoDoesNotRetransmitLeftEdge) and a few transfers in a thousand hang.
        var options = new SoakOptions { Count = Count, Sack = false };
        AssertClean(new SoakRunner(options).Run(), options);
    }

    [Fact(Skip = "stack bug: with SACK, a timeout may not retransmit the left edge and transfers hang (KnownStackBug.RtoDoesNotRetransmitLeftEdge)")]
    public void Seed002_TransfersUnderImpairments_StackDefaults_AllArriveIntact()
    {
        var options = new SoakOptions { Count = Count };
        AssertClean(new SoakRunner(options).Run(), options);
    }

    [Fact(Skip = "stack bug: data and FIN arriving in FIN-WAIT-2 are discarded unread on entering TIME-WAIT (KnownStackBug.UnreadDataDiscardedOnClose)")]
    public void Seed002_ClientHalfClosesLikeNcatFromDevNull_AllArriveIntact()
    {
        var options = new SoakOptions { Count = 300, HalfClose = true, Sack = false };
        AssertClean(new SoakRunner(options).Run(), options);
    }

    [Fact]
    public void SameSeed_GivesTheSameSoak()
    {
        var options = new SoakOptions { Count = 20, Sack = false };
        SoakResult first = new SoakRunner(options).Run();
        SoakResult second = new SoakRunner(options).Run();
        Assert.Equal(first.Simulated, second.Simulated);
        Assert.Equal(first.Retransmits, second.Retransmits);
    }
}
