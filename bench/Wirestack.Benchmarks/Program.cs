using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;

namespace Wirestack.Benchmarks;

/// <summary>Runs the benchmarks chosen on the command line, e.g.
/// <c>dotnet run -c Release --project bench/Wirestack.Benchmarks -- --filter '*Segment*' --memory</c>.
/// <c>-- --alloc [filter]</c> instead runs every benchmark method 100,000 times after a warm-up and prints the
/// bytes it allocated per call (GC.GetAllocatedBytesForCurrentThread), in a few seconds.
/// Never run in CI: figures depend on the machine.</summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--alloc")
        {
            CountAllocations(args.Length > 1 ? args[1] : "");
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }

    /// <summary>An allocation-counting loop: for each [Benchmark] method whose class or name contains
    /// <paramref name="filter"/>, GlobalSetup, 10,000 warm-up calls, then bytes allocated over 100,000 calls.</summary>
    private static void CountAllocations(string filter)
    {
        const int Warmup = 10_000;
        const int Calls = 100_000;
        foreach (Type type in typeof(Program).Assembly.GetTypes().Where(t => t.IsClass && !t.IsAbstract).OrderBy(t => t.Name))
        {
            MethodInfo[] methods = type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null).ToArray();
            if (methods.Length == 0)
            {
                continue;
            }

            foreach (MethodInfo method in methods)
            {
                if (!(type.Name + "." + method.Name).Contains(filter, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                object instance = Activator.CreateInstance(type)!;
                foreach (PropertyInfo parameter in type.GetProperties().Where(p => p.GetCustomAttribute<ParamsAttribute>() is not null))
                {
                    parameter.SetValue(instance, parameter.GetCustomAttribute<ParamsAttribute>()!.Values[^1]);
                }

                type.GetMethods().FirstOrDefault(m => m.GetCustomAttribute<GlobalSetupAttribute>() is not null)?.Invoke(instance, null);
                // A typed delegate, called directly: no reflection and no boxing inside the counted loop.
                Delegate call = method.CreateDelegate(typeof(Func<>).MakeGenericType(method.ReturnType), instance);
                MethodInfo count = typeof(Program).GetMethod(nameof(BytesPerCall), BindingFlags.NonPublic | BindingFlags.Static)!
                    .MakeGenericMethod(method.ReturnType);
                double perCall = (double)count.Invoke(null, [call, Warmup, Calls])!;
                Console.WriteLine($"{type.Name}.{method.Name}: {perCall:0.#} B/call");
            }
        }
    }

    private static double BytesPerCall<T>(Func<T> call, int warmup, int calls)
    {
        for (int i = 0; i < warmup; i++)
        {
            call();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++)
        {
            call();
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)calls;
    }
}
