using BenchmarkDotNet.Running;

namespace Wirestack.Benchmarks;

/// <summary>Runs the benchmarks chosen on the command line, e.g.
/// <c>dotnet run -c Release --project bench/Wirestack.Benchmarks -- --filter '*Checksum*' --job short</c>.
/// Never run in CI: figures depend on the machine.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
