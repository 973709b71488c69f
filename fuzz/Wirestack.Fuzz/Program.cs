// The AFL++ harness (SharpFuzz): each input file is decoded into the same step sequence the in-process fuzzer draws
// from a seed (StackFuzzer.RunInput: first byte seeds the setup, the rest are the steps' choices), run against a
// fresh stack, and judged by the same invariants. A broken invariant or an exception escaping the stack is thrown,
// which AFL records as a crash. Known, reported stack bugs are tolerated unless WIRESTACK_FUZZ_STRICT=1.
//
//   dotnet Wirestack.Fuzz.dll                     run under afl-fuzz (see ../run-afl.sh)
//   dotnet Wirestack.Fuzz.dll --replay FILE...    run inputs outside AFL and print each verdict (exit 1 on failure)
//   dotnet Wirestack.Fuzz.dll --corpus DIR        write the seed corpus (recorded seeded runs)
using SharpFuzz;
using Wirestack.Simulation.Fuzzing;

namespace Wirestack.Fuzz;

public static class Program
{
    private static readonly FuzzOptions s_options =
        Environment.GetEnvironmentVariable("WIRESTACK_FUZZ_STRICT") == "1" ? FuzzOptions.Strict : FuzzOptions.Suite;

    public static int Main(string[] args)
    {
        if (args.Length >= 1 && args[0] == "--replay")
        {
            return Replay(args[1..]);
        }

        if (args.Length == 2 && args[0] == "--corpus")
        {
            return WriteCorpus(args[1]);
        }

        if (args.Length != 0)
        {
            Console.Error.WriteLine("usage: Wirestack.Fuzz [--replay FILE... | --corpus DIR]   (no arguments: run under afl-fuzz)");
            return 2;
        }

        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            FuzzResult result = StackFuzzer.RunInput(buffer.ToArray(), options: s_options);
            if (!result.Ok)
            {
                throw new FuzzFailedException(result.ToString());
            }
        });
        return 0;
    }

    private static int Replay(string[] files)
    {
        int failed = 0;
        foreach (string file in files)
        {
            FuzzResult result = StackFuzzer.RunInput(File.ReadAllBytes(file), options: s_options);
            Console.WriteLine($"{file}: {result}");
            failed += result.Ok ? 0 : 1;
        }

        return failed == 0 ? 0 : 1;
    }

    /// <summary>Small inputs that decode to meaningful runs: seeded runs of a few dozen steps, recorded as bytes.</summary>
    private static int WriteCorpus(string directory)
    {
        Directory.CreateDirectory(directory);
        (byte Seed, int Steps)[] runs = [(1, 24), (2, 40), (3, 60), (5, 32), (8, 48), (13, 80)];
        foreach ((byte seed, int steps) in runs)
        {
            byte[] input = StackFuzzer.RecordInput(seed, steps);
            string path = Path.Combine(directory, $"seed{seed:D3}-{steps}steps.bin");
            File.WriteAllBytes(path, input);
            Console.WriteLine($"{path}: {input.Length} bytes");
        }

        return 0;
    }
}

/// <summary>Thrown to tell AFL the input broke the stack.</summary>
public sealed class FuzzFailedException(string message) : Exception(message);
