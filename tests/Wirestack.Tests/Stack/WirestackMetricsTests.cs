using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Stack;

public sealed class WirestackMetricsTests
{
    [Theory]
    [InlineData("Tcp", "RetransSegs", "wirestack.tcp.segments.retransmitted")]
    [InlineData("Tcp", "CurrEstab", "wirestack.tcp.connections.established")]
    [InlineData("TcpExt", "ListenOverflows", "wirestack.tcpext.listen_overflows")]
    [InlineData("TcpExt", "TCPSynRetrans", "wirestack.tcpext.tcp_syn_retrans")]
    [InlineData("TcpExt", "TCPDSACKRecv", "wirestack.tcpext.tcpdsack_recv")]
    [InlineData("Udp", "RcvbufErrors", "wirestack.udp.rcvbuf_errors")]
    [InlineData("Ip", "InCsumErrors", "wirestack.ip.in_csum_errors")]
    [InlineData("Link:wire.a", "rx_missed_errors", "wirestack.link.rx_missed_errors")]
    public void MetricName_IsLowercaseDotted(string group, string counter, string expected) =>
        Assert.Equal(expected, WirestackMetrics.MetricName(group, counter));

    [Fact]
    public void MeterListener_SeesEveryCounterTaggedWithItsHost()
    {
        var (sim, client, server) = Net.TwoHosts(81);
        lock (server.SyncRoot)
        {
            server.Ip.Routes.Clear();
        }

        using var socket = new NetSocket(client, SocketType.Stream) { Blocking = false };
        socket.Connect(new IPv4Address(10, 0, 0, 2), 80);
        sim.RunFor(TimeSpan.FromSeconds(4)); // SYNs at 0, 1, 3: two retransmitted

        using var metrics = new WirestackMetrics();
        metrics.Add(client);
        metrics.Add(server);
        var seen = new Dictionary<(string Name, string Host, string? Extra), long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == metrics.Meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string host = "", extra = "";
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == WirestackMetrics.HostTag) host = (string)tag.Value!;
                else extra += tag.Key + "=" + tag.Value;
            }

            seen[(instrument.Name, host, extra == "" ? null : extra)] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal(2, seen[("wirestack.tcp.segments.retransmitted", "client", null)]);
        Assert.Equal(2, seen[("wirestack.tcpext.tcp_syn_retrans", "client", null)]);
        Assert.Equal(3, seen[("wirestack.tcp.segments.received", "server", null)]);
        Assert.Equal(1, seen[("wirestack.tcp.connections.opened.active", "client", null)]);
        Assert.Equal(3, seen[("wirestack.ip.out_no_routes", "server", null)]);
        Assert.Equal(3, seen[("wirestack.link.tx_packets", "client", "wirestack.device=client-server.a")]);
        Assert.Equal(1, seen[("wirestack.tcp.connections", "client", "wirestack.state=SYN-SENT")]);
        Assert.Equal(client.Budget.Limit, seen[("wirestack.memory.limit", "client", null)]);
        Assert.Equal(0, seen[("wirestack.memory.failures", "client", "wirestack.cause=SendBuffer")]);
        Assert.True(seen.ContainsKey(("wirestack.memory.in_use", "server", null)));
        Assert.All(metrics.Instruments, i => Assert.Matches("^wirestack(\\.[a-z0-9_]+)+$", i.Name));

        // Every counter of the snapshot has an instrument.
        SortedDictionary<string, SortedDictionary<string, long>> snapshot = client.SnapshotCounters();
        foreach (string group in new[] { "Ip", "Icmp", "Udp", "Tcp", "TcpExt" })
        {
            foreach ((string name, long value) in snapshot[group])
            {
                Assert.Equal(value, seen[(WirestackMetrics.MetricName(group, name), "client", null)]);
            }
        }

        metrics.Remove(server);
        seen.Clear();
        listener.RecordObservableInstruments();
        Assert.DoesNotContain(seen.Keys, k => k.Host == "server");
    }
}
