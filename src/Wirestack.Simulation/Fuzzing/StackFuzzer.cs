namespace Wirestack.Simulation.Fuzzing;

/// <summary>
/// The seeded in-process fuzzer: builds a <see cref="FuzzWorld"/> (a stack with live connections in many states) and
/// feeds it steps — mutated TCP segments, byte-mutated IPv4/TCP/UDP/ICMP datagrams, fragments, ICMP errors, user
/// calls and time steps from microseconds to minutes — checking the invariants after each. At the end it closes
/// everything, runs time on past TIME-WAIT and every retry, and checks that nothing is left. The same seed gives the
/// same run, so a failure is reproduced by its seed and step count.
/// </summary>
public static class StackFuzzer
{
    /// <summary>The last steps kept for a failure report.</summary>
    public const int RecentSteps = 12;

    /// <summary>Runs <paramref name="iterations"/> steps drawn from <paramref name="seed"/>. Never throws for what the
    /// stack does: an exception that escapes it or a broken invariant is the result's <see cref="FuzzResult.Failure"/>.</summary>
    public static FuzzResult Run(int seed, int iterations) => Run(seed, iterations, FuzzOptions.Strict);

    /// <summary>As <see cref="Run(int, int)"/>, judged by <paramref name="options"/> (which known bugs to tolerate).</summary>
    public static FuzzResult Run(int seed, int iterations, FuzzOptions options) =>
        Execute(seed, new RandomFuzzSource(seed), new RandomFuzzSource(StepSeed(seed)), iterations, options, fromInput: false);

    /// <summary>The seed of the step choices of <see cref="Run(int, int)"/> (the setup uses the seed itself).</summary>
    public static int StepSeed(int seed) => unchecked(seed * 7919 + 1);

    /// <summary>Decodes an AFL input into the same kind of run: the first byte seeds the setup, the rest are the
    /// steps' choices, until they run out (at most <paramref name="maxSteps"/> steps).</summary>
    public static FuzzResult RunInput(ReadOnlyMemory<byte> input, int maxSteps = 400, FuzzOptions? options = null)
    {
        int setupSeed = input.Length > 0 ? input.Span[0] : 0;
        var steps = new ByteFuzzSource(input.Length > 0 ? input[1..] : input);
        return Execute(setupSeed, new RandomFuzzSource(setupSeed), steps, maxSteps, options ?? FuzzOptions.Strict, fromInput: true);
    }

    /// <summary>The bytes that make <see cref="RunInput"/> replay <see cref="Run(int, int, FuzzOptions)"/>
    /// (<paramref name="seed"/>, <paramref name="steps"/>): the seed, then every choice the steps draw, each as the
    /// bytes that decode to it. This is how fuzz/corpus is made.</summary>
    public static byte[] RecordInput(byte seed, int steps, FuzzOptions? options = null)
    {
        using var recording = new MemoryStream();
        recording.WriteByte(seed);
        var source = new RandomFuzzSource(StepSeed(seed), recording);
        FuzzWorld world = new(seed, new RandomFuzzSource(seed), options ?? FuzzOptions.Suite);
        for (int i = 0; i < steps; i++)
        {
            world.Step(source);
        }

        return recording.ToArray();
    }

    private static FuzzResult Execute(int seed, FuzzSource setup, FuzzSource steps, int iterations, FuzzOptions options, bool fromInput)
    {
        var recent = new Queue<string>();
        int step = -1;
        FuzzWorld? world = null;
        string phase = "setup";
        try
        {
            world = new FuzzWorld(seed, setup, options);
            world.CheckInvariants();
            phase = "steps";
            for (step = 0; step < iterations && !steps.Exhausted; step++)
            {
                string what = world.Step(steps);
                recent.Enqueue($"#{step} {world.Harness.Now}: {what}");
                if (recent.Count > RecentSteps)
                {
                    recent.Dequeue();
                }

                world.CheckInvariants();
            }

            phase = "close";
            world.CloseEverything(world.CheckInvariants);
            world.CheckAllReleased();
            return new FuzzResult(seed, iterations, step, null, world.Stats) { FromInput = fromInput };
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            string kind = ex is FuzzInvariantException ? "invariant broken" : $"{ex.GetType().Name} escaped the stack";
            recent.Enqueue($"#{step} (failing) last datagram injected: {world?.LastInjected}");
            var failure = new FuzzFailure(step, phase, kind, ex.Message, ex is FuzzInvariantException ? null : ex.ToString(), [.. recent]);
            return new FuzzResult(seed, iterations, step, failure, world?.Stats ?? new FuzzStats()) { FromInput = fromInput };
        }
    }
}

/// <summary>What one fuzz run did, and how it failed if it did.</summary>
public sealed record FuzzResult(int Seed, int Iterations, int StepsRun, FuzzFailure? Failure, FuzzStats Stats)
{
    public bool Ok => Failure is null;

    /// <summary>True when the steps came from an input's bytes (<see cref="StackFuzzer.RunInput"/>), not from the seed.</summary>
    public bool FromInput { get; init; }

    private string Origin => FromInput ? $"input (setup seed {Seed})" : $"seed {Seed}";

    private string Replay => FromInput
        ? "StackFuzzer.RunInput(the same input bytes)"
        : $"StackFuzzer.Run({Seed}, {Failure!.Step + 1}, options)";

    public override string ToString() => Failure is null
        ? $"{Origin}: {StepsRun} steps ok ({Stats})"
        : $"{Origin}: FAILED at step {Failure.Step} ({Failure.Phase}): {Failure.Kind}: {Failure.Message}{Environment.NewLine}" +
          $"  replay: {Replay}{Environment.NewLine}" +
          $"  last steps:{Environment.NewLine}    {string.Join(Environment.NewLine + "    ", Failure.RecentSteps)}" +
          (Failure.Exception is null ? "" : $"{Environment.NewLine}  {Failure.Exception}");
}

/// <summary>Where a run failed: the step index (-1 during setup), the phase (setup, steps, close), and why.</summary>
public sealed record FuzzFailure(int Step, string Phase, string Kind, string Message, string? Exception, IReadOnlyList<string> RecentSteps);

/// <summary>Counts of what a run fed the stack and what came back.</summary>
public sealed class FuzzStats
{
    private readonly Dictionary<string, int> _notes = [];

    public long Datagrams { get; set; }
    public long Segments { get; set; }
    public long StackSent { get; set; }
    public long StackResets { get; set; }
    public long Accepted { get; set; }

    public IReadOnlyDictionary<string, int> Notes => _notes;

    public void Note(string what) => _notes[what] = _notes.GetValueOrDefault(what) + 1;

    public override string ToString() =>
        $"{Datagrams} datagrams in ({Segments} TCP segments), {StackSent} out ({StackResets} RST), {Accepted} accepted";
}
