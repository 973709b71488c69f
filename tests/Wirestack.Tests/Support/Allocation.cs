namespace Wirestack.Tests.Support;

/// <summary>Measures what a piece of code allocates on the calling thread.</summary>
internal static class Allocation
{
    /// <summary>The least of <paramref name="attempts"/> measurements of the bytes <paramref name="body"/> allocates on
    /// this thread. Code that allocates per call shows up in every attempt; a collection started by another thread
    /// (tests run in parallel) can add up to an allocation context (~8 KiB) to one reading, not to all of them.</summary>
    public static long Least(Action body, int attempts = 3)
    {
        long least = long.MaxValue;
        for (int i = 0; i < attempts && least > 0; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            body();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least;
    }
}
