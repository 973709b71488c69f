namespace Wirestack.Wire.Tests;

public sealed class MacAddressTests
{
    [Fact]
    public void Parse_ThenToString_RoundTripsInLowerCase()
    {
        MacAddress mac = MacAddress.Parse("AA:bb:0C:dd:EE:0f");

        Assert.Equal("aa:bb:0c:dd:ee:0f", mac.ToString());
        Assert.Equal(0xAABB_0CDD_EE0FUL, mac.Value);
        Assert.Equal(new MacAddress(0xaa, 0xbb, 0x0c, 0xdd, 0xee, 0x0f), mac);
    }

    [Fact]
    public void Parse_DashSeparated_IsAccepted()
    {
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02-00-00-00-00-01"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("02:00:00:00:00")]
    [InlineData("02:00:00:00:00:01:02")]
    [InlineData("02:00:00-00:00:01")]
    [InlineData("02.00.00.00.00.01")]
    [InlineData("0g:00:00:00:00:01")]
    [InlineData("+2:00:00:00:00:01")]
    [InlineData(" 2:00:00:00:00:01")]
    [InlineData("020:00:00:00:0:01")]
    public void TryParse_Malformed_ReturnsFalse(string text)
    {
        Assert.False(MacAddress.TryParse(text, out _));
        Assert.Throws<FormatException>(() => MacAddress.Parse(text));
    }

    [Fact]
    public void TryParse_Null_ReturnsFalse()
    {
        Assert.False(MacAddress.TryParse((string?)null, out _));
    }

    [Fact]
    public void Broadcast_IsAllOnesAndMulticast()
    {
        Assert.Equal("ff:ff:ff:ff:ff:ff", MacAddress.Broadcast.ToString());
        Assert.True(MacAddress.Broadcast.IsBroadcast);
        Assert.True(MacAddress.Broadcast.IsMulticast);
        Assert.False(MacAddress.Broadcast.IsUnicast);
        Assert.True(MacAddress.Zero.IsZero);
        Assert.Equal("00:00:00:00:00:00", MacAddress.Zero.ToString());
    }

    [Fact]
    public void Bits_MulticastAndLocallyAdministered_ComeFromTheFirstOctet()
    {
        Assert.True(MacAddress.Parse("01:00:5e:00:00:01").IsMulticast);
        Assert.False(MacAddress.Parse("01:00:5e:00:00:01").IsLocallyAdministered);
        Assert.True(MacAddress.Parse("02:00:00:00:00:01").IsLocallyAdministered);
        Assert.True(MacAddress.Parse("02:00:00:00:00:01").IsUnicast);
    }

    [Fact]
    public void ReadWrite_TransmissionOrder()
    {
        byte[] bytes = new byte[8];
        MacAddress.Parse("01:23:45:67:89:ab").Write(bytes.AsSpan(1));

        Assert.Equal(Hex.Parse("00 01 23 45 67 89 ab 00"), bytes);
        Assert.Equal(MacAddress.Parse("01:23:45:67:89:ab"), MacAddress.Read(bytes.AsSpan(1)));
    }

    [Fact]
    public void FromValue_MoreThanFortyEightBits_Throws()
    {
        Assert.Equal(MacAddress.Broadcast, MacAddress.FromValue(0xFFFF_FFFF_FFFF));
        Assert.Throws<ArgumentOutOfRangeException>(() => MacAddress.FromValue(1UL << 48));
    }

    [Fact]
    public void TryFormat_ShortAndExactBuffers()
    {
        MacAddress mac = Packets.MacA;
        Span<char> chars = stackalloc char[17];

        Assert.False(mac.TryFormat(chars[..16], out int none, default, null));
        Assert.Equal(0, none);
        Assert.True(mac.TryFormat(chars, out int written, default, null));
        Assert.Equal("02:00:00:00:00:01", chars[..written].ToString());
        Assert.Equal("via 02:00:00:00:00:01", $"via {mac}");
    }
}
