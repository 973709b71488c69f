using System.Buffers.Binary;
using System.Text;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Stack;
using Wirestack.Tests.Support;

namespace Wirestack.Tests.Simulation;

/// <summary>
/// A port takes its arrivals when its host polls; only a tapped wire is delivered centrally at each step, so that
/// the capture lists both directions in arrival order. Watching must not change what happens: the same seed gives
/// the same transfer, counter for counter, with and without a capture.
/// </summary>
public sealed class CaptureNeutralityTests
{
    private static readonly LinkImpairments Lossy = new()
    {
        RateBitsPerSecond = 50_000_000,
        Delay = TimeSpan.FromMilliseconds(2),
        Jitter = TimeSpan.FromMilliseconds(1),
        Loss = 0.01,
        Reorder = 0.02,
        QueueLimitBytes = 64 * 1024,
    };

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void SameSeed_SameTransfer_WithAndWithoutCapture(int seed)
    {
        (string watched, long watchedEnd) = Transfer(seed, new MemoryStream());
        (string unwatched, long unwatchedEnd) = Transfer(seed, capture: null);

        Assert.Contains("RetransSegs", watched, StringComparison.Ordinal);
        Assert.Equal(watched, unwatched);
        Assert.Equal(watchedEnd, unwatchedEnd);
    }

    [Fact]
    public void Capture_ListsBothDirections_InArrivalOrder()
    {
        var pcap = new MemoryStream();
        Transfer(13, pcap);

        byte[] bytes = pcap.ToArray();
        var sources = new HashSet<uint>();
        long previous = long.MinValue;
        int records = 0;
        for (int at = 24; at + 16 <= bytes.Length; records++)
        {
            ReadOnlySpan<byte> header = bytes.AsSpan(at, 16);
            long nanoseconds = (BinaryPrimitives.ReadUInt32LittleEndian(header) * 1_000_000_000L) + BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
            Assert.True(nanoseconds >= previous, $"record {records} at {nanoseconds} ns is earlier than the one before ({previous} ns)");
            previous = nanoseconds;
            sources.Add(BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 16 + 12, 4))); // the IPv4 source
            at += 16 + length;
        }

        Assert.True(records > 300, $"{records} packets captured");
        Assert.Equal(2, sources.Count); // data one way, ACKs the other
    }

    /// <summary>400 kB from a to b over a lossy, reordering, rate-limited wire; returns every counter of both hosts
    /// and of both wire directions, and the time the receiver saw the end of the stream.</summary>
    private static (string Counters, long EndMicroseconds) Transfer(int seed, MemoryStream? capture)
    {
        using var sim = new Simulator(seed);
        NetStack a = sim.AddHost("a");
        NetStack b = sim.AddHost("b");
        SimulatedWire wire = sim.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24", Lossy);
        if (capture is not null)
        {
            sim.CaptureAll(capture);
        }

        using ConnectedPair pair = Net.Connected(a, b);
        byte[] data = new byte[400_000];
        new Random(seed).NextBytes(data);
        long end = 0;
        sim.Run(async () =>
        {
            Task sending = SendAllAsync(pair.Client, data);
            byte[] buffer = new byte[16 * 1024];
            long received = 0;
            int n;
            while ((n = await pair.Server.ReceiveAsync(buffer)) > 0)
            {
                received += n;
            }

            end = b.Now.Microseconds;
            await sending;
            Assert.Equal(data.Length, received);
        }, TimeSpan.FromMinutes(10));

        var text = new StringBuilder();
        foreach ((string name, IReadOnlyDictionary<string, long> values) in new[]
                 {
                     ("a", Flatten(a.SnapshotCounters())), ("b", Flatten(b.SnapshotCounters())),
                     ("a->b", wire.CountersAToB.Snapshot()), ("b->a", wire.CountersBToA.Snapshot()),
                 })
        {
            foreach ((string key, long value) in values)
            {
                text.Append(name).Append(' ').Append(key).Append(' ').Append(value).Append('\n');
            }
        }

        return (text.ToString(), end);
    }

    private static async Task SendAllAsync(Wirestack.Sockets.NetSocket socket, byte[] data)
    {
        for (int sent = 0; sent < data.Length;)
        {
            sent += await socket.SendAsync(data.AsMemory(sent, Math.Min(8192, data.Length - sent)));
        }

        socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
    }

    private static IReadOnlyDictionary<string, long> Flatten(SortedDictionary<string, SortedDictionary<string, long>> groups)
    {
        var flat = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach ((string group, SortedDictionary<string, long> values) in groups)
        {
            foreach ((string key, long value) in values)
            {
                flat[group + "." + key] = value;
            }
        }

        return flat;
    }
}
