using System.Buffers.Binary;
using System.Diagnostics;
using Wirestack.Buffers;
using Wirestack.Interop.Tests.Support;
using Wirestack.Links.Linux;
using Wirestack.Time;
using Wirestack.Wire;
using Xunit.Abstractions;

namespace Wirestack.Interop.Tests;

/// <summary>The TUN device on its own, in-process (opened inside the test's namespace with NetNamespace.Run), with
/// no stack: the ring and its overflow count, the write path, errors, and a clean close.</summary>
public sealed class TunDeviceTests(ITestOutputHelper output)
{
    private static PacketBufferPool Pool() => new(new MemoryBudget(64L << 20));

    [InteropFact("python3")]
    public void FullRing_DropsAndCountsRxMissed_KeepsTheFirstPackets_WakesTheDriver()
    {
        using var ns = Netns.Create(output);
        int wakes = 0;
        using TunDevice device = NetNamespace.Run(ns.Name, () => TunDevice.Open("wst0", Pool(), new TunOptions { RingSlots = 16 }));
        device.PacketArrived = () => Interlocked.Increment(ref wakes);
        ns.Run(TimeSpan.FromSeconds(10), "sysctl", "-qw", "net.ipv6.conf.wst0.disable_ipv6=1");
        ns.Run(TimeSpan.FromSeconds(10), "ip", "addr", "add", "10.77.0.1/24", "dev", "wst0");
        ns.Run(TimeSpan.FromSeconds(10), "ip", "link", "set", "wst0", "up");

        // Nobody takes packets out: 100 UDP datagrams from the kernel fill the 16 slots, the rest are dropped.
        ProcessResult sent = ns.Run(TimeSpan.FromSeconds(20), "python3", "-c",
            "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(100): s.sendto(i.to_bytes(2, 'big'), ('10.77.0.2', 9))");
        Assert.True(sent.ExitCode == 0, sent.ToString());
        Assert.True(SpinUntil(() => device.Counters.RxPackets + device.Counters.RxMissed >= 100, TimeSpan.FromSeconds(10)),
            $"rx {device.Counters.RxPackets}, missed {device.Counters.RxMissed}");

        Assert.Equal(16, device.Counters.RxPackets);
        Assert.Equal(16, device.RingCount);
        Assert.True(device.Counters.RxMissed >= 84, $"missed {device.Counters.RxMissed}");
        Assert.Equal(device.Counters.RxMissed, device.Counters.RxFifoErrors);
        Assert.True(wakes > 0);
        Assert.Equal(Instant.Zero, device.PollAt); // "take me now"
        for (int i = 0; i < 16; i++)
        {
            Assert.True(device.TryReceive(Instant.Zero, out PacketBuffer? packet));
            using (packet)
            {
                Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(packet.Span, out IPv4Packet ip));
                Assert.Equal(IPv4Address.Parse("10.77.0.2"), ip.Destination);
                Assert.Equal((ushort)i, BinaryPrimitives.ReadUInt16BigEndian(packet.Span[(ip.HeaderLength + 8)..])); // the first 16, in order
            }
        }

        Assert.False(device.TryReceive(Instant.Zero, out _));
        Assert.Null(device.PollAt);
        output.WriteLine($"rx_packets {device.Counters.RxPackets}, rx_missed_errors {device.Counters.RxMissed}, wakes {wakes}");
    }

    [InteropFact]
    public void Transmit_EchoRequest_KernelAnswers_OversizeIsDropped()
    {
        using var ns = Netns.Create(output);
        PacketBufferPool pool = Pool();
        using TunDevice device = NetNamespace.Run(ns.Name, () => TunDevice.Open("wst0", pool, new TunOptions { Mtu = 9000 }));
        Assert.Equal(9000, device.Mtu);
        ns.Run(TimeSpan.FromSeconds(10), "sysctl", "-qw", "net.ipv6.conf.wst0.disable_ipv6=1");
        ns.Run(TimeSpan.FromSeconds(10), "ip", "addr", "add", "10.77.0.1/24", "dev", "wst0");
        ns.Run(TimeSpan.FromSeconds(10), "ip", "link", "set", "wst0", "up");
        ProcessResult link = ns.Run(TimeSpan.FromSeconds(10), "ip", "link", "show", "wst0");
        Assert.Contains("mtu 9000", link.Stdout); // SIOCSIFMTU reached the kernel

        device.Transmit(PacketBuffer.FromBytes(EchoRequest(8000)), Instant.Zero);
        Assert.True(SpinUntil(() => device.RingCount > 0, TimeSpan.FromSeconds(10)), "no reply from the kernel");
        Assert.True(device.TryReceive(Instant.Zero, out PacketBuffer? reply));
        using (reply)
        {
            Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(reply.Span, out IPv4Packet ip));
            Assert.Equal(IPv4Address.Parse("10.77.0.1"), ip.Source);
            Assert.Equal((byte)1, ip.Protocol);
            Assert.Equal(IcmpV4Type.EchoReply, reply.Span[ip.HeaderLength]);
            Assert.Equal(8000, reply.Length); // the same size as the request
        }

        Assert.Equal(1, device.Counters.TxPackets);
        device.Transmit(PacketBuffer.FromBytes(EchoRequest(9001)), Instant.Zero);
        Assert.Equal(1, device.Counters.TxDropped);
        Assert.Equal(1, device.Counters.TxPackets);
    }

    [InteropFact]
    public void Dispose_StopsTheReaderAndRemovesTheDeviceItCreated()
    {
        using var ns = Netns.Create(output);
        TunDevice device = NetNamespace.Run(ns.Name, () => TunDevice.Open("wst%d", Pool()));
        Assert.Matches("^wst[0-9]+$", device.Name); // the kernel numbered it
        Assert.Equal(0, ns.Run(TimeSpan.FromSeconds(10), "ip", "link", "show", device.Name).ExitCode);

        var clock = Stopwatch.StartNew();
        device.Dispose();
        device.Dispose(); // twice is fine
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"close took {clock.Elapsed}");
        Assert.Null(device.ReaderFault);
        Assert.NotEqual(0, ns.Run(TimeSpan.FromSeconds(10), "ip", "link", "show", device.Name).ExitCode);
        device.Transmit(PacketBuffer.FromBytes(EchoRequest(100)), Instant.Zero); // after close: dropped, no throw
        Assert.Equal(1, device.Counters.TxDropped);
    }

    [InteropFact]
    public void Open_Errors_SayWhy()
    {
        using var ns = Netns.Create(output);
        PacketBufferPool pool = Pool();
        TunException notTun = Assert.Throws<TunException>(() => NetNamespace.Run(ns.Name, () => TunDevice.Open("lo", pool)));
        Assert.Contains("cannot attach TUN device lo", notTun.Message);
        Assert.Contains("is not a TUN device", notTun.Message);

        using TunDevice first = NetNamespace.Run(ns.Name, () => TunDevice.Open("wst0", pool));
        TunException busy = Assert.Throws<TunException>(() => NetNamespace.Run(ns.Name, () => TunDevice.Open("wst0", pool)));
        Assert.Contains("device busy", busy.Message);

        Assert.Throws<ArgumentException>(() => TunDevice.Open("a/b", pool));
        Assert.Throws<ArgumentException>(() => TunDevice.Open("a-name-that-is-too-long", pool));
        TunException noNamespace = Assert.Throws<TunException>(() => NetNamespace.Run("wstest-does-not-exist", () => 0));
        Assert.Contains("cannot open network namespace", noNamespace.Message);
        output.WriteLine(notTun.Message);
        output.WriteLine(busy.Message);
    }

    /// <summary>An ICMP echo request from 10.77.0.2 to 10.77.0.1, <paramref name="length"/> bytes in all.</summary>
    private static byte[] EchoRequest(int length)
    {
        byte[] packet = new byte[length];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)length);
        packet[8] = 64;
        packet[9] = 1;
        IPv4Address.Parse("10.77.0.2").Write(packet.AsSpan(12));
        IPv4Address.Parse("10.77.0.1").Write(packet.AsSpan(16));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), InternetChecksum.Compute(packet.AsSpan(0, 20)));
        packet[20] = IcmpV4Type.Echo;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(24), 0x4242);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(26), 1);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(22), InternetChecksum.Compute(packet.AsSpan(20)));
        return packet;
    }

    private static bool SpinUntil(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }

            Thread.Sleep(10);
        }

        return true;
    }
}
