using Wirestack.Simulation.Fuzzing;

namespace Wirestack.Tests.Fuzzing;

/// <summary>The seeded in-process fuzzer, run for a bounded count in the suite; its inputs from AFL (the seed corpus
/// and every crasher kept) replayed as regression tests.</summary>
public sealed class StackFuzzerTests
{
    public const int Steps = 2000;

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 20)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Seed_RunsWithoutBreakingAnInvariant(int seed)
    {
        FuzzResult result = StackFuzzer.Run(seed, Steps, FuzzOptions.Suite);
        Assert.True(result.Ok, result.ToString());
        Assert.Equal(Steps, result.StepsRun);
        Assert.True(result.Stats.Segments > Steps / 4, $"too few segments reached the stack: {result.Stats}");
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Seed_WithSocketOptions_RunsWithoutBreakingAnInvariant(int seed)
    {
        // TCP_CORK, TCP_NODELAY, TCP_LINGER2, TCP_DEFER_ACCEPT and MSG_MORE among the user calls.
        FuzzResult result = StackFuzzer.Run(seed, Steps, FuzzOptions.WithSocketOptions);
        Assert.True(result.Ok, result.ToString());
        Assert.Equal(Steps, result.StepsRun);
    }

    [Fact]
    public void Seeds_Strict_NoKnownBugTolerated()
    {
        foreach (int seed in Enumerable.Range(1, 20))
        {
            FuzzResult result = StackFuzzer.Run(seed, Steps, FuzzOptions.Strict);
            Assert.True(result.Ok, result.ToString());
        }
    }

    [Fact]
    public void SameSeed_GivesTheSameRun()
    {
        FuzzResult first = StackFuzzer.Run(7, 500, FuzzOptions.Suite);
        FuzzResult second = StackFuzzer.Run(7, 500, FuzzOptions.Suite);
        Assert.Equal(first.Stats.ToString(), second.Stats.ToString());
        Assert.Equal(first.ToString(), second.ToString());
    }

    [Fact]
    public void RecordedInput_ReplaysTheSeededRun()
    {
        byte[] input = StackFuzzer.RecordInput(9, 300);
        FuzzResult replayed = StackFuzzer.RunInput(input, maxSteps: 300, FuzzOptions.Suite);
        FuzzResult seeded = StackFuzzer.Run(9, 300, FuzzOptions.Suite);
        Assert.True(replayed.Ok, replayed.ToString());
        Assert.Equal(seeded.Stats.ToString(), replayed.Stats.ToString());
    }

    [Fact]
    public void ShortOrEmptyInput_IsAValidRun()
    {
        Assert.True(StackFuzzer.RunInput(Array.Empty<byte>(), options: FuzzOptions.Suite).Ok);
        Assert.True(StackFuzzer.RunInput(new byte[] { 3, 1, 2 }, options: FuzzOptions.Suite).Ok);
    }

    public static TheoryData<string> CorpusAndCrashers()
    {
        var files = new TheoryData<string>();
        foreach (string dir in new[] { Path.Combine(RepositoryRoot(), "fuzz", "corpus"), Path.Combine(RepositoryRoot(), "tests", "Wirestack.Tests", "Fuzzing", "Crashers") })
        {
            if (Directory.Exists(dir))
            {
                foreach (string file in Directory.EnumerateFiles(dir).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
                {
                    files.Add(Path.GetRelativePath(RepositoryRoot(), file));
                }
            }
        }

        return files;
    }

    [Theory]
    [MemberData(nameof(CorpusAndCrashers))]
    public void AflInput_ReplaysWithoutBreakingAnInvariant(string file)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(RepositoryRoot(), file));
        FuzzResult result = StackFuzzer.RunInput(input, options: FuzzOptions.Suite);
        Assert.True(result.Ok, result.ToString());
    }

    public static TheoryData<string> Crashers()
    {
        var files = new TheoryData<string>();
        string dir = Path.Combine(RepositoryRoot(), "tests", "Wirestack.Tests", "Fuzzing", "Crashers");
        foreach (string file in Directory.EnumerateFiles(dir, "*.bin").Order(StringComparer.Ordinal))
        {
            files.Add(Path.GetFileName(file));
        }

        return files;
    }

    [Theory]
    [MemberData(nameof(Crashers))]
    public void AflCrasher_Strict_ReplaysWithoutBreakingAnInvariant(string file)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(RepositoryRoot(), "tests", "Wirestack.Tests", "Fuzzing", "Crashers", file));
        FuzzResult result = StackFuzzer.RunInput(input, options: FuzzOptions.Strict);
        Assert.True(result.Ok, result.ToString());
    }

    internal static string RepositoryRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Wirestack.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("repository root (Wirestack.slnx) not found");
    }
}
