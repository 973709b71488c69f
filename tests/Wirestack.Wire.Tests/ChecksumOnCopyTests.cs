namespace Wirestack.Wire.Tests;

/// <summary>Checksum on copy: <see cref="InternetChecksum.CopyAndAccumulate"/> copies exactly and sums as
/// <see cref="InternetChecksum.Accumulate"/> does; sums of pieces starting at odd offsets combine by a byte swap.</summary>
public sealed class ChecksumOnCopyTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(1448)]
    [InlineData(1449)]
    [InlineData(65483)]
    public void CopyAndAccumulate_copies_and_sums_like_Accumulate(int length)
    {
        byte[] source = new byte[length];
        new Random(length).NextBytes(source);
        byte[] destination = new byte[length + 3];
        ulong sum = InternetChecksum.CopyAndAccumulate(source, destination, 12345);
        Assert.Equal(source, destination[..length]);
        Assert.Equal(InternetChecksum.Finish(InternetChecksum.Accumulate(source, 12345)), InternetChecksum.Finish(sum));
    }

    [Theory]
    [InlineData(1, 100)]
    [InlineData(7, 1448)]
    [InlineData(64, 3)]
    public void A_piece_at_an_odd_offset_combines_by_swapping(int first, int second)
    {
        byte[] data = new byte[first + second];
        new Random(first * 31 + second).NextBytes(data);
        ulong a = InternetChecksum.Accumulate(data.AsSpan(0, first));
        ulong b = InternetChecksum.Accumulate(data.AsSpan(first));
        ulong combined = a + ((first & 1) == 0 ? b : InternetChecksum.ShiftByOneByte(b));
        Assert.Equal(InternetChecksum.Compute(data), InternetChecksum.Finish(combined));
    }
}
