using System.Security.Cryptography;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Stack;
using Wirestack.Tests.Support;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tests.Links;

/// <summary><see cref="SimulatedWire.CopyPackets"/> off: the sender's buffer itself travels (no copy), stays
/// leased from the sender's pool until the receiver disposes it, and every impairment still applies.</summary>
public sealed class SimulatedWireHandOverTests
{
    [Fact]
    public void HandOver_KeepsTheSendersBufferLeasedUntilReceivedAndUsesNoWireBuffer()
    {
        var harness = new WireHarness(new LinkImpairments { Delay = TimeSpan.FromSeconds(1) });
        harness.Wire.CopyPackets = false;

        harness.Send(harness.Wire.A, 1, 100, Instant.Zero);

        Assert.Equal(1, harness.SenderPool.LeasedCount);
        Assert.Equal(0, harness.Wire.Pool.LeasedCount);
        harness.Drain();
        ReceivedPacket packet = Assert.Single(harness.ReceivedByB);
        Assert.Equal(WireHarness.Payload(1, 0, 100), packet.Bytes);
        Assert.Equal(1_000_000, packet.DelayUs);
        harness.AssertNoLeaks();
    }

    [Fact]
    public void HandOver_SameSeed_DeliversWhatTheCopyingWireDelivers()
    {
        var impairments = new LinkImpairments
        {
            Loss = 0.05, Duplicate = 0.05, Reorder = 0.05, Corrupt = 0.02, Delay = TimeSpan.FromMilliseconds(5),
            Jitter = TimeSpan.FromMilliseconds(1), RateBitsPerSecond = 100_000_000, QueueLimitBytes = 64 * 1024,
        };
        var copying = new WireHarness(impairments, seed: 9);
        var handing = new WireHarness(impairments, seed: 9);
        handing.Wire.CopyPackets = false;

        copying.SendSeries(2000, length: 200);
        handing.SendSeries(2000, length: 200);
        copying.Drain();
        handing.Drain();

        Assert.True(handing.Wire.Counters.Lost > 0 && handing.Wire.Counters.Duplicated > 0 && handing.Wire.Counters.Corrupted > 0);
        Assert.Equal(copying.ReceivedByB.Select(p => (p.ArrivalUs, Convert.ToHexString(p.Bytes))),
            handing.ReceivedByB.Select(p => (p.ArrivalUs, Convert.ToHexString(p.Bytes))));
        handing.AssertNoLeaks();
    }

    [Theory]
    [InlineData(false, false)] // the receiver reads the payloads where they are (GRO, IP and TCP input)
    [InlineData(true, false)] // a tap on the line: each packet is joined as it is delivered
    [InlineData(false, true)] // large segments lent across chunks, cut into frames that share their pieces
    [InlineData(true, true)]
    public void HandOver_TcpSendsPayloadsByReferenceAndEveryByteArrivesThroughLossDuplicatesReorderingAndCorruption(bool tap, bool tso)
    {
        var impairments = new LinkImpairments
        {
            Loss = 0.01, Duplicate = 0.01, Reorder = 0.01, Corrupt = 0.005, Delay = TimeSpan.FromMilliseconds(2),
            RateBitsPerSecond = 100_000_000, QueueLimitBytes = 256 * 1024,
        };
        using var sim = new Simulator(11);
        NetStack a = sim.AddHost("a");
        NetStack b = sim.AddHost("b");
        SimulatedWire wire = sim.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24", impairments, impairments, rxRing: 4096);
        wire.CopyPackets = false;
        wire.GenericReceiveOffload = true;
        wire.RxCoalesce = TimeSpan.FromMicroseconds(50);
        wire.GsoMaxSize = tso ? 65535 : 0;
        wire.HardwareSegmentation = tso;
        int tapped = 0, badChecksums = 0;
        wire.Tap = !tap ? null : (bytes, at) =>
        {
            // What the line carries is the whole segment, its checksum completed (the tap joins the payload).
            if (IPv4Packet.TryCreate(bytes, out IPv4Packet ip) == HeaderError.None && ip.Protocol == IPProtocol.Tcp && ip.IsChecksumValid)
            {
                tapped++;
                ulong sum = InternetChecksum.PseudoHeader(ip.Source, ip.Destination, IPProtocol.Tcp, ip.Payload.Length);
                badChecksums += InternetChecksum.Finish(InternetChecksum.Accumulate(ip.Payload, sum)) == 0 ? 0 : 1;
            }
        };
        byte[] data = new byte[3 << 20];
        new Random(5).NextBytes(data);

        using (ConnectedPair pair = Net.Connected(a, b, 1 << 20))
        {
            using var reader = new SocketDrain(sim, pair.Server);
            int sent = 0;
            pair.Client.Blocking = false;
            sim.RunUntil(() =>
            {
                if (sent < data.Length)
                {
                    sent += Math.Max(0, pair.Client.Send(data.AsSpan(sent), out _));
                    if (sent == data.Length)
                    {
                        pair.Client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
                    }
                }

                return reader.Finished;
            }, TimeSpan.FromSeconds(600));

            Assert.Equal(data.Length, reader.BytesReceived);
            Assert.Equal(SHA256.HashData(data), reader.Digest);
        }

        sim.RunFor(TimeSpan.FromSeconds(200)); // both ends close: every packet delivered or dropped, and released
        Assert.True(wire.Counters.SentByReference > 1000, $"{wire.Counters.SentByReference} packets sent by reference");
        if (tso)
        {
            // The sender handed over large segments; nine frames in ten left holding their chunk (the rest straddle two).
            Assert.True(wire.A.Counters.TxGsoPackets > 20, $"{wire.A.Counters.TxGsoPackets} large segments");
            Assert.True(wire.Counters.SentByReference * 10 > (data.Length / 1448) * 8, $"{wire.Counters.SentByReference} frames by reference");
        }

        Assert.True(wire.Counters.Lost > 0 && wire.Counters.Duplicated > 0 && wire.Counters.Reordered > 0 && wire.Counters.Corrupted > 0);
        if (tap)
        {
            Assert.True(tapped > 1000);
            Assert.InRange(badChecksums, 1, wire.Counters.Corrupted); // only the packets the wire damaged
        }

        Assert.Equal(0, a.Pool.LeasedCount);
        Assert.Equal(0, b.Pool.LeasedCount);
    }
}
