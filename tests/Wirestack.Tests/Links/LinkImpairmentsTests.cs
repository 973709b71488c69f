using Wirestack.Links;

namespace Wirestack.Tests.Links;

public sealed class LinkImpairmentsTests
{
    [Fact]
    public void None_HasDocumentedDefaultsAndIsValid()
    {
        LinkImpairments none = LinkImpairments.None;

        none.Validate();
        Assert.Equal(0, none.Loss);
        Assert.Equal(0, none.Duplicate);
        Assert.Equal(0, none.Reorder);
        Assert.Equal(0, none.Corrupt);
        Assert.Equal(TimeSpan.Zero, none.Delay);
        Assert.Equal(TimeSpan.Zero, none.Jitter);
        Assert.Equal(TimeSpan.FromMilliseconds(1), none.ReorderDelay);
        Assert.Equal(0, none.RateBitsPerSecond);
        Assert.Equal(256 * 1024, none.QueueLimitBytes);
        Assert.Equal(1500, none.Mtu);
    }

    [Fact]
    public void Validate_ExtremesThatArePossible_DoesNotThrow()
    {
        new LinkImpairments { Loss = 1, Duplicate = 1, Reorder = 1, Corrupt = 1, Mtu = 68 }.Validate();
        new LinkImpairments { Mtu = 65535, RateBitsPerSecond = 1, QueueLimitBytes = 1 }.Validate();
    }

    public static TheoryData<LinkImpairments, string> Impossible => new()
    {
        { new LinkImpairments { Loss = -0.1 }, "Loss" },
        { new LinkImpairments { Loss = 1.5 }, "Loss" },
        { new LinkImpairments { Loss = double.NaN }, "Loss" },
        { new LinkImpairments { Duplicate = 2 }, "Duplicate" },
        { new LinkImpairments { Reorder = -1 }, "Reorder" },
        { new LinkImpairments { Corrupt = 1.01 }, "Corrupt" },
        { new LinkImpairments { Delay = TimeSpan.FromMilliseconds(-1) }, "Delay" },
        { new LinkImpairments { Jitter = TimeSpan.FromTicks(-1) }, "Jitter" },
        { new LinkImpairments { ReorderDelay = TimeSpan.FromSeconds(-1) }, "ReorderDelay" },
        { new LinkImpairments { RateBitsPerSecond = -1 }, "RateBitsPerSecond" },
        { new LinkImpairments { QueueLimitBytes = 0 }, "QueueLimitBytes" },
        { new LinkImpairments { Mtu = 67 }, "Mtu" },
        { new LinkImpairments { Mtu = 65536 }, "Mtu" },
    };

    [Theory]
    [MemberData(nameof(Impossible))]
    public void Validate_ImpossibleValue_ThrowsArgumentExceptionNamingIt(LinkImpairments impairments, string property)
    {
        ArgumentException error = Assert.Throws<ArgumentException>(impairments.Validate);

        Assert.Equal(property, error.ParamName);
        Assert.StartsWith(property + " ", error.Message);
    }

    [Fact]
    public void SimulatedWire_WithImpossibleImpairments_RefusesToBeBuilt()
    {
        Assert.Throws<ArgumentException>(() => new SimulatedWire(new Random(1), new LinkImpairments { Loss = 2 }, LinkImpairments.None));
        var wire = new SimulatedWire(new Random(1), LinkImpairments.None, LinkImpairments.None);
        Assert.Throws<ArgumentException>(() => wire.BToA = new LinkImpairments { Mtu = 10 });
    }
}
