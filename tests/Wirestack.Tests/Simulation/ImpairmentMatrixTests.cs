using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tests.Support;

namespace Wirestack.Tests.Simulation;

/// <summary>Bulk transfers across impaired wires: every byte arrives (SHA-256), and both stacks give back every
/// buffer afterwards.</summary>
public sealed class ImpairmentMatrixTests
{
    public static TheoryData<string, int, double, double, double, double, int> Cases()
    {
        var data = new TheoryData<string, int, double, double, double, double, int>();
        int[] seeds = [1, 2, 3];
        foreach (int seed in seeds)
        {
            data.Add("clean", seed, 0, 0, 0, 0, 20);
            data.Add("loss1", seed, 0.01, 0, 0, 0, 20);
            data.Add("loss5", seed, 0.05, 0, 0, 0, 20);
            data.Add("reorder", seed, 0, 0.05, 0, 0, 20);
            data.Add("dup", seed, 0, 0, 0.05, 0, 20);
            data.Add("corrupt", seed, 0, 0, 0, 0.02, 20);
            data.Add("all", seed, 0.02, 0.02, 0.02, 0.01, 20);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BulkTransfer_UnderImpairments_DeliversAllBytesAndFreesAllBuffers(string name, int seed, double loss, double reorder,
        double duplicate, double corrupt, int megabytes)
    {
        var impairments = new LinkImpairments
        {
            Loss = loss, Reorder = reorder, Duplicate = duplicate, Corrupt = corrupt,
            Delay = TimeSpan.FromMilliseconds(5), Jitter = TimeSpan.FromMilliseconds(1), ReorderDelay = TimeSpan.FromMilliseconds(3),
            RateBitsPerSecond = 1_000_000_000, QueueLimitBytes = 4 << 20,
        };
        var (sim, clientHost, serverHost) = Net.TwoHosts(seed * 1000 + name.Length, impairments);
        byte[] data = new byte[megabytes << 20];
        new Random(seed).NextBytes(data);
        using (var listener = new NetSocket(serverHost, SocketType.Stream))
        {
            listener.Bind(new IPEndPoint(IPAddress.Any, 5001));
            listener.Listen(4);
            using var client = new NetSocket(clientHost, SocketType.Stream);
            client.Connect(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 5001));
            using NetSocket server = listener.Accept();
            client.Connection!.SetBufferSizesUnclamped(4 << 20, 4 << 20);
            server.Connection!.SetBufferSizesUnclamped(4 << 20, 4 << 20);
            var reader = new SocketDrain(sim, server);
            Assert.Equal(data.Length, client.Send(data));
            client.Close();
            sim.RunUntil(() => reader.Finished, TimeSpan.FromSeconds(3600));
            Assert.Equal(SocketError.Success, reader.Error);
            Assert.Equal(SHA256.HashData(data), reader.Digest);
        }

        // After the close handshake and TIME-WAIT, neither stack holds any buffer.
        sim.RunFor(TimeSpan.FromSeconds(120));
        Assert.Equal(0, clientHost.Tcp.ConnectionCount);
        Assert.Equal(0, serverHost.Tcp.ConnectionCount);
        Assert.Equal(0, clientHost.Budget.InUse);
        Assert.Equal(0, serverHost.Budget.InUse);
        if (loss > 0)
        {
            Assert.True(clientHost.Counters.Tcp.RetransSegs > 0, "loss must have caused retransmissions");
        }

        if (corrupt > 0)
        {
            Assert.True(clientHost.Counters.Tcp.InCsumErrors + serverHost.Counters.Tcp.InCsumErrors +
                        clientHost.Counters.Ip.InCsumErrors + serverHost.Counters.Ip.InCsumErrors > 0);
        }
    }
}
