using Wirestack.Simulation;

namespace Wirestack.Tests.Stack;

/// <summary>What the stack does with what a raw-IP link hands it before IPv4 looks at it.</summary>
public sealed class NetStackInputTests
{
    [Fact]
    public void Ipv6Packet_IsDroppedAsRxNoHandler_NotCountedAsABadIpv4Header()
    {
        var host = new HostHarness();
        byte[] routerSolicitation = new byte[48];
        routerSolicitation[0] = 0x60; // version 6
        routerSolicitation[5] = 8;    // payload length
        routerSolicitation[6] = 58;   // ICMPv6
        routerSolicitation[7] = 255;

        host.Inject(routerSolicitation);
        host.Poll();

        Assert.Equal(1, host.Link.Counters.RxNoHandler);
        Assert.Equal(0, host.Stack.Counters.Ip.InReceives);
        Assert.Equal(0, host.Stack.Counters.Ip.InHdrErrors);
        Assert.Equal(0, host.Stack.Pool.LeasedCount);
    }

    [Fact]
    public void PacketOfAnotherVersion_GoesToIpv4AndIsCountedAsAHeaderError()
    {
        var host = new HostHarness();
        byte[] garbage = new byte[40];
        garbage[0] = 0x55;

        host.Inject(garbage);
        host.Poll();

        Assert.Equal(0, host.Link.Counters.RxNoHandler);
        Assert.Equal(1, host.Stack.Counters.Ip.InHdrErrors);
    }
}
