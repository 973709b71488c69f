using Wirestack.Buffers;
using Wirestack.Tests.Support;

namespace Wirestack.Tests.Buffers;

public sealed class ByteArrayCacheTests
{
    [Theory]
    [InlineData(0, 256)]
    [InlineData(1, 256)]
    [InlineData(256, 256)]
    [InlineData(257, 512)]
    [InlineData(1660, 2048)]
    [InlineData(65695, 131072)]
    [InlineData(1 << 20, 1 << 20)]
    public void Rent_ReturnsTheSmallestSizeClassThatFits(int requested, int expectedLength)
    {
        var cache = new ByteArrayCache();

        Assert.Equal(expectedLength, cache.Rent(requested).Length);
    }

    [Fact]
    public void Rent_AfterReturn_GivesTheSameArrayBackWithoutAllocating()
    {
        var cache = new ByteArrayCache();
        byte[] first = cache.Rent(1500);
        cache.Return(first);

        byte[] second = cache.Rent(2000);

        Assert.Same(first, second);
        Assert.Equal(1, cache.Allocations);
    }

    [Fact]
    public void Return_BeyondTheRetentionBound_LeavesTheArrayToTheGc()
    {
        var cache = new ByteArrayCache(retainedBytesPerClass: 4096);
        byte[][] arrays = Enumerable.Range(0, 5).Select(_ => cache.Rent(1024)).ToArray();

        foreach (byte[] array in arrays)
        {
            cache.Return(array);
        }

        Assert.Equal(4096, cache.CachedBytes);
    }

    [Fact]
    public void Return_OfAnArrayThatIsNoSizeClass_IsIgnored()
    {
        var cache = new ByteArrayCache();

        cache.Return(new byte[1000]);
        cache.Return(new byte[100]);

        Assert.Equal(0, cache.CachedBytes);
    }

    [Fact]
    public void Rent_LargerThanTheLargestClass_AllocatesExactlyAndIsNeverCached()
    {
        var cache = new ByteArrayCache();
        byte[] big = cache.Rent(ByteArrayCache.MaximumSize + 1);

        cache.Return(big);

        Assert.Equal(ByteArrayCache.MaximumSize + 1, big.Length);
        Assert.Equal(0, cache.CachedBytes);
    }

    [Fact]
    public void SteadyState_RentAndReturn_AllocatesNothing()
    {
        var cache = new ByteArrayCache();
        for (int i = 0; i < 100; i++)
        {
            cache.Return(cache.Rent(i * 97));
        }

        long allocated = Allocation.Least(() =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                cache.Return(cache.Rent((i % 100) * 97));
            }
        });

        Assert.Equal(0, allocated);
    }
}
