namespace Wirestack.Cli.Tests;

public sealed class UnitsTests
{
    [Theory]
    [InlineData("1%", 0.01)]
    [InlineData("0.5 %", 0.005)]
    [InlineData("100%", 1.0)]
    [InlineData("0.01", 0.01)]
    [InlineData("0", 0.0)]
    [InlineData("1", 1.0)]
    public void Probability_Accepted(string text, double expected)
    {
        Assert.True(Units.TryParseProbability(text, out double value, out string? error), error);
        Assert.Equal(expected, value, 12);
    }

    [Theory]
    [InlineData("150%", "more than 100%")]
    [InlineData("-1%", "negative")]
    [InlineData("5", "did you mean 5%?")]
    [InlineData("1x", "unknown unit 'x'")]
    [InlineData("lots", "not a number")]
    [InlineData("", "not a number")]
    public void Probability_Rejected(string text, string reason)
    {
        Assert.False(Units.TryParseProbability(text, out _, out string? error));
        Assert.Contains(reason, error);
    }

    [Theory]
    [InlineData("20ms", 20_000)]
    [InlineData("1s", 1_000_000)]
    [InlineData("1.5s", 1_500_000)]
    [InlineData("250us", 250)]
    [InlineData("250µs", 250)]
    [InlineData("2min", 120_000_000)]
    [InlineData("0", 0)]
    public void Duration_Accepted(string text, long microseconds)
    {
        Assert.True(Units.TryParseDuration(text, out TimeSpan value, out string? error), error);
        Assert.Equal(microseconds, (long)value.TotalMicroseconds);
    }

    [Theory]
    [InlineData("20", "needs a unit")]
    [InlineData("-5ms", "negative")]
    [InlineData("5h", "unknown unit 'h'")]
    [InlineData("2days", "unknown unit")]
    public void Duration_Rejected(string text, string reason)
    {
        Assert.False(Units.TryParseDuration(text, out _, out string? error));
        Assert.Contains(reason, error);
    }

    [Theory]
    [InlineData("10Mbit", 10_000_000)]
    [InlineData("1Gbit", 1_000_000_000)]
    [InlineData("64kbit", 64_000)]
    [InlineData("1.5mbit", 1_500_000)]
    [InlineData("100Mbit/s", 100_000_000)]
    [InlineData("0", 0)]
    [InlineData("unlimited", 0)]
    public void Rate_Accepted(string text, long bits)
    {
        Assert.True(Units.TryParseRate(text, out long value, out string? error), error);
        Assert.Equal(bits, value);
    }

    [Theory]
    [InlineData("10", "needs a unit")]
    [InlineData("10Mbps", "unknown unit")]
    [InlineData("10MB", "unknown unit")]
    [InlineData("-1Mbit", "negative")]
    public void Rate_Rejected(string text, string reason)
    {
        Assert.False(Units.TryParseRate(text, out _, out string? error));
        Assert.Contains(reason, error);
    }

    [Theory]
    [InlineData("1000", 1000)]
    [InlineData("20MB", 20_000_000)]
    [InlineData("20kB", 20_000)]
    [InlineData("1MiB", 1_048_576)]
    [InlineData("64KiB", 65_536)]
    [InlineData("1GiB", 1_073_741_824)]
    [InlineData("1.5MB", 1_500_000)]
    [InlineData("7B", 7)]
    public void Size_Accepted(string text, long bytes)
    {
        Assert.True(Units.TryParseSize(text, out long value, out string? error), error);
        Assert.Equal(bytes, value);
    }

    [Theory]
    [InlineData("-5", "negative")]
    [InlineData("1.5B", "whole number")]
    [InlineData("5mb", "unknown unit 'mb'")]
    [InlineData("5 elephants", "unknown unit")]
    public void Size_Rejected(string text, string reason)
    {
        Assert.False(Units.TryParseSize(text, out _, out string? error));
        Assert.Contains(reason, error);
    }

    [Theory]
    [InlineData("1500", true)]
    [InlineData("68", true)]
    [InlineData("65535", true)]
    [InlineData("67", false)]
    [InlineData("65536", false)]
    [InlineData("1500B", false)]
    public void Mtu_Range(string text, bool accepted)
    {
        Assert.Equal(accepted, Units.TryParseMtu(text, out _, out _));
    }

    [Fact]
    public void Format_RoundTripsReadably()
    {
        Assert.Equal("1%", Units.FormatProbability(0.01));
        Assert.Equal("20 ms", Units.FormatDuration(TimeSpan.FromMilliseconds(20)));
        Assert.Equal("10 Mbit/s", Units.FormatRate(10_000_000));
        Assert.Equal("1,048,576 bytes (1 MiB)", Units.FormatBytes(1_048_576));
        Assert.Equal("16 KiB", Units.FormatSize(16_384));
        Assert.Equal("1,500 bytes", Units.FormatSize(1500));
    }
}
