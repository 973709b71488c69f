using System.Diagnostics;
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
    /// <paramref name="filter"/>, and for each value of its class's [Params] property (the cartesian product when
    /// there are several): GlobalSetup, up to 10,000 warm-up calls (at most 1 s), then the bytes allocated per call
    /// over up to 100,000 calls (at most 2 s), so that a benchmark whose call is a thousand round trips finishes too.</summary>
    private static void CountAllocations(string filter)
    {
        foreach (Type type in typeof(Program).Assembly.GetTypes().Where(t => t.IsClass && !t.IsAbstract).OrderBy(t => t.Name))
        {
            MethodInfo[] methods = type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null).ToArray();
            PropertyInfo[] parameters = type.GetProperties().Where(p => p.GetCustomAttribute<ParamsAttribute>() is not null).ToArray();
            foreach (MethodInfo method in methods)
            {
                if (!(type.Name + "." + method.Name).Contains(filter, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                foreach (object?[] values in Combinations(parameters))
                {
                    object instance = Activator.CreateInstance(type)!;
                    for (int i = 0; i < parameters.Length; i++)
                    {
                        parameters[i].SetValue(instance, values[i]);
                    }

                    type.GetMethods().FirstOrDefault(m => m.GetCustomAttribute<GlobalSetupAttribute>() is not null)?.Invoke(instance, null);
                    double perCall;
                    int calls;
                    IReadOnlyList<(string Kind, double Share)> kinds;
                    using (var sampler = new Wirestack.Cli.Bench.AllocationSampler())
                    {
                        (perCall, calls) = Count(method, instance);
                        kinds = sampler.Top(3);
                    }

                    int operations = Math.Max(1, method.GetCustomAttribute<BenchmarkAttribute>()!.OperationsPerInvoke);
                    string shown = parameters.Length == 0 ? "" : "(" + string.Join(", ", parameters.Select((p, i) => $"{p.Name}={values[i]}")) + ")";
                    Console.WriteLine(operations == 1
                        ? $"{type.Name}.{method.Name}{shown}: {perCall:0.#} B/call over {calls:N0} calls"
                        : $"{type.Name}.{method.Name}{shown}: {perCall / operations:0.##} B/operation ({perCall:0.#} B per call of {operations} operations) over {calls:N0} calls");
                    if (perCall > 0)
                    {
                        foreach ((string kind, double share) in kinds)
                        {
                            Console.WriteLine($"    {share:P0} of allocation samples: {kind}");
                        }
                    }
                }
            }
        }
    }

    private static IEnumerable<object?[]> Combinations(PropertyInfo[] parameters, int index = 0)
    {
        if (index == parameters.Length)
        {
            yield return new object?[parameters.Length];
            yield break;
        }

        foreach (object? value in parameters[index].GetCustomAttribute<ParamsAttribute>()!.Values)
        {
            foreach (object?[] rest in Combinations(parameters, index + 1))
            {
                rest[index] = value;
                yield return rest;
            }
        }
    }

    private static (double PerCall, int Calls) Count(MethodInfo method, object instance)
    {
        // A typed delegate, called directly: no reflection and no boxing inside the counted loop. A benchmark that
        // returns nothing is an Action (there is no Func<void>).
        if (method.ReturnType == typeof(void))
        {
            Action action = method.CreateDelegate<Action>(instance);
            return BytesPerCall(() => { action(); return 0; });
        }

        Delegate call = method.CreateDelegate(typeof(Func<>).MakeGenericType(method.ReturnType), instance);
        MethodInfo count = typeof(Program).GetMethod(nameof(BytesPerCall), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(method.ReturnType);
        return ((double, int))count.Invoke(null, [call])!;
    }

    private static (double PerCall, int Calls) BytesPerCall<T>(Func<T> call)
    {
        const int Warmup = 10_000;
        const int Calls = 100_000;
        long warmupEnd = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        for (int i = 0; i < Warmup && Stopwatch.GetTimestamp() < warmupEnd; i++)
        {
            call();
        }

        long end = Stopwatch.GetTimestamp() + 2 * Stopwatch.Frequency;
        int calls = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        while (calls < Calls && ((calls & 63) != 0 || Stopwatch.GetTimestamp() < end)) // the clock read every 64 calls
        {
            call();
            calls++;
        }

        return ((GC.GetAllocatedBytesForCurrentThread() - before) / (double)calls, calls);
    }
}
