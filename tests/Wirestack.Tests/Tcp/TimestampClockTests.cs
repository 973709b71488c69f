using System.Net;
using System.Net.Sockets;
using Wirestack.Links;
using Wirestack.Sockets;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>RFC 7323 §5.4: TSval comes from the time of the send itself, also when an application sends after the
/// simulator moved the clock over an idle stretch without polling the hosts.</summary>
public sealed class TimestampClockTests
{
    [Fact]
    public void SendAfterAnIdleStretch_CarriesTheTimeOfTheSend_AndGivesNoBogusRttSample()
    {
        var (sim, client, server) = Net.TwoHosts(711);
        var tsvals = new List<(long AtMs, uint TsVal, int Payload)>();
        sim.Wires[0].Tap = (bytes, at) =>
        {
            if (IPv4Packet.TryCreate(bytes, out IPv4Packet ip) == HeaderError.None && ip.Protocol == IPProtocol.Tcp &&
                TcpSegment.TryCreate(ip.Payload, out TcpSegment segment) == HeaderError.None &&
                TcpHeader.TryParseUnchecked(segment, out TcpHeader h) == HeaderError.None && h.Options.HasTimestamp &&
                h.SourcePort != 80)
            {
                tsvals.Add((at.TotalMilliseconds, h.Options.TsVal, segment.Payload.Length));
            }
        };
        using var listener = new NetSocket(server, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(4);
        using var socket = new NetSocket(client, SocketType.Stream);
        socket.Connect(Net.ServerHttp);
        using NetSocket peer = listener.Accept();
        Assert.Equal(100, socket.Send(new byte[100]));
        sim.RunFor(TimeSpan.FromMilliseconds(50));

        // Ten idle seconds: nothing is due, so the clock jumps without a host being polled.
        sim.Clock.AdvanceTo(sim.Now + TimeSpan.FromSeconds(10));
        Assert.Equal(100, socket.Send(new byte[100]));
        sim.RunFor(TimeSpan.FromMilliseconds(50));

        var data = tsvals.Where(t => t.Payload > 0).ToList();
        Assert.Equal(2, data.Count);
        // 10 s and a little more between the two sends, in TSval ticks of 1 ms as on the wire clock.
        Assert.InRange(unchecked((int)(data[1].TsVal - data[0].TsVal)), 10_000, 10_100);
        Assert.InRange(data[1].AtMs - data[0].AtMs, 10_000, 10_100);
        // The echo of a current TSval gives an RTT of about 2 ms; a stale one gave seconds.
        Assert.True(socket.Connection!.Rtt.SmoothedRtt < TimeSpan.FromMilliseconds(20), $"SRTT {socket.Connection.Rtt.SmoothedRtt}");
    }
}
