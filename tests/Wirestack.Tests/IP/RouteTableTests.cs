using Wirestack.IP;
using Wirestack.Wire;

using Wirestack.Tests.Support;

namespace Wirestack.Tests.IP;

/// <summary>RFC 4632 §5.1 longest-match routing, with metrics breaking ties between equal prefixes.</summary>
public sealed class RouteTableTests
{
    private static readonly IPv4Address Gateway = IPv4Address.Parse("192.168.1.1");

    private static RouteTable Overlapping()
    {
        var table = new RouteTable();
        table.Add(new Route(IPv4Cidr.Parse("0.0.0.0/0"), Gateway, InterfaceIndex: 0));
        table.Add(new Route(IPv4Cidr.Parse("10.1.2.0/24"), null, InterfaceIndex: 3));
        table.Add(new Route(IPv4Cidr.Parse("10.0.0.0/8"), null, InterfaceIndex: 1));
        table.Add(new Route(IPv4Cidr.Parse("10.1.2.3/32"), null, InterfaceIndex: 4));
        table.Add(new Route(IPv4Cidr.Parse("10.1.0.0/16"), null, InterfaceIndex: 2));
        return table;
    }

    [Theory]
    [Trait("Rfc", "4632 §5.1")]
    [InlineData("10.1.2.3", 4)]
    [InlineData("10.1.2.4", 3)]
    [InlineData("10.1.3.1", 2)]
    [InlineData("10.2.0.1", 1)]
    [InlineData("10.255.255.255", 1)]
    [InlineData("11.0.0.1", 0)]
    [InlineData("0.0.0.0", 0)]
    [InlineData("255.255.255.255", 0)]
    public void TryLookup_OverlappingPrefixes_LongestPrefixWins(string address, int expectedInterface)
    {
        RouteTable table = Overlapping();

        Assert.True(table.TryLookup(IPv4Address.Parse(address), out Route? route));

        Assert.Equal(expectedInterface, route.InterfaceIndex);
    }

    [Fact]
    public void TryLookup_DefaultRoute_CarriesGateway()
    {
        Assert.True(Overlapping().TryLookup(IPv4Address.Parse("8.8.8.8"), out Route? route));

        Assert.Equal(Gateway, route.Gateway);
        Assert.Equal(0, route.Destination.PrefixLength);
    }

    [Fact]
    public void TryLookup_NoMatchingRoute_ReturnsFalse()
    {
        var table = new RouteTable();
        table.Add(new Route(IPv4Cidr.Parse("10.0.0.0/8"), null, 1));

        Assert.False(table.TryLookup(IPv4Address.Parse("11.0.0.1"), out Route? route));
        Assert.Null(route);
        Assert.False(new RouteTable().TryLookup(IPv4Address.Parse("10.0.0.1"), out _));
    }

    [Fact]
    public void TryLookup_SamePrefixDifferentMetrics_LowestMetricWins()
    {
        var table = new RouteTable();
        table.Add(new Route(IPv4Cidr.Parse("10.0.0.0/8"), null, InterfaceIndex: 1, Metric: 100));
        table.Add(new Route(IPv4Cidr.Parse("10.0.0.0/8"), null, InterfaceIndex: 2, Metric: 5));
        table.Add(new Route(IPv4Cidr.Parse("10.0.0.0/8"), null, InterfaceIndex: 3, Metric: 50));

        Assert.True(table.TryLookup(IPv4Address.Parse("10.9.9.9"), out Route? route));

        Assert.Equal(2, route.InterfaceIndex);
        Assert.Equal(3, table.Count);
        Assert.Equal([5, 50, 100], table.Routes.Select(r => r.Metric));
    }

    [Fact]
    public void TryLookup_LongerPrefixWithWorseMetric_StillWins()
    {
        var table = new RouteTable();
        table.Add(new Route(IPv4Cidr.Parse("10.0.0.0/8"), null, InterfaceIndex: 1, Metric: 0));
        table.Add(new Route(IPv4Cidr.Parse("10.1.0.0/16"), null, InterfaceIndex: 2, Metric: 1000));

        Assert.True(table.TryLookup(IPv4Address.Parse("10.1.0.9"), out Route? route));
        Assert.Equal(2, route.InterfaceIndex);
    }

    [Fact]
    public void Add_SameDestinationAndMetric_ReplacesRoute()
    {
        var table = new RouteTable();
        table.Add(new Route(IPv4Cidr.Parse("10.0.0.0/8"), null, InterfaceIndex: 1, Metric: 7));
        table.Add(new Route(IPv4Cidr.Parse("10.20.30.40/8"), Gateway, InterfaceIndex: 2, Metric: 7));

        Route only = Assert.Single(table.Routes);
        Assert.Equal(2, only.InterfaceIndex);
        Assert.True(table.TryLookup(IPv4Address.Parse("10.0.0.1"), out Route? route));
        Assert.Same(only, route);
    }

    [Fact]
    public void Add_EqualPreference_FirstAddedIsLookedAtFirst()
    {
        // Two routes can only tie on prefix and metric while being different destinations, which never both match;
        // the order still follows insertion, so it is stable for display.
        var table = new RouteTable();
        table.Add(new Route(IPv4Cidr.Parse("10.2.0.0/16"), null, 2));
        table.Add(new Route(IPv4Cidr.Parse("10.1.0.0/16"), null, 1));
        table.Add(new Route(IPv4Cidr.Parse("10.3.0.0/16"), null, 3));

        Assert.Equal([2, 1, 3], table.Routes.Select(r => r.InterfaceIndex));
    }

    [Fact]
    public void Routes_AreInLookupPreferenceOrder()
    {
        RouteTable table = Overlapping();

        Assert.Equal([32, 24, 16, 8, 0], table.Routes.Select(r => r.Destination.PrefixLength));
    }

    [Fact]
    public void Add_HostBitsInDestination_AreIgnoredForMatching()
    {
        var table = new RouteTable();
        table.Add(new Route(IPv4Cidr.Parse("10.1.2.3/8"), null, 1));

        Assert.True(table.TryLookup(IPv4Address.Parse("10.200.0.1"), out _));
    }

    [Fact]
    public void Remove_DeletesEveryMetricOfThatDestination()
    {
        RouteTable table = Overlapping();
        table.Add(new Route(IPv4Cidr.Parse("10.1.0.0/16"), null, InterfaceIndex: 9, Metric: 20));

        Assert.True(table.Remove(IPv4Cidr.Parse("10.1.99.99/16")));

        Assert.DoesNotContain(table.Routes, r => r.Destination.PrefixLength == 16);
        Assert.True(table.TryLookup(IPv4Address.Parse("10.1.3.1"), out Route? route));
        Assert.Equal(1, route.InterfaceIndex);
        Assert.False(table.Remove(IPv4Cidr.Parse("10.1.0.0/16")));
        Assert.False(table.Remove(IPv4Cidr.Parse("10.1.2.0/23")));
        Assert.False(table.Remove(new IPv4Cidr(IPv4Address.Any, 40)));
    }

    [Fact]
    public void Add_InvalidPrefixLength_Throws()
    {
        var table = new RouteTable();

        Assert.Throws<ArgumentOutOfRangeException>(() => table.Add(new Route(new IPv4Cidr(IPv4Address.Any, 33), null, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.Add(new Route(new IPv4Cidr(IPv4Address.Any, -1), null, 1)));
    }

    [Fact]
    public void TryLookup_DoesNotAllocate()
    {
        RouteTable table = Overlapping();
        IPv4Address address = IPv4Address.Parse("10.1.3.1");
        table.TryLookup(address, out _);

        int found = 0;
        long allocated = Allocation.Least(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                if (table.TryLookup(new IPv4Address(address.Value + (uint)i), out Route? route))
                {
                    found += route.InterfaceIndex;
                }
            }
        });

        Assert.Equal(0, allocated);
        Assert.True(found > 0);
    }

    [Fact]
    public void Route_ToString_ReadsLikeIpRoute()
    {
        Assert.Equal("0.0.0.0/0 via 192.168.1.1 dev 0", new Route(IPv4Cidr.Parse("0.0.0.0/0"), Gateway, 0).ToString());
        Assert.Equal("10.0.0.0/8 dev 2 metric 5", new Route(IPv4Cidr.Parse("10.0.0.0/8"), null, 2, 5).ToString());
    }
}
