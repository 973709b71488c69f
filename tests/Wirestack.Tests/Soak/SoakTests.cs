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
        // SACK off: NewReno recovery (RFC 6582) alone; the stack defaults below have SACK on, as Linux does.
        var options = new SoakOptions { Count = Count, Sack = false };
        AssertClean(new SoakRunner(options).Run(), options);
    }

    [Fact]
    public void Seed002_TransfersUnderImpairments_StackDefaults_AllArriveIntact()
    {
        var options = new SoakOptions { Count = Count };
        Assert.True(options.Sack); // the Linux profile's default (net.ipv4.tcp_sack = 1)
        AssertClean(new SoakRunner(options).Run(), options);
    }

    [Fact]
    public void Seed002_ClientHalfClosesLikeNcatFromDevNull_AllArriveIntact()
    {
        var options = new SoakOptions { Count = 300, HalfClose = true };
        Assert.True(options.Sack);
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
