using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tests.Support;

namespace Wirestack.Tests.Sockets;

/// <summary>
/// One suite of socket behaviours, run against every user surface (runtime's SendReceive_Socket&lt;T&gt; idea): the
/// blocking BSD calls, the ValueTask API, NetStream and SocketDuplexPipe. The subject surface plays one end; the
/// other end is plain async NetSocket code. Everything runs in virtual time on the simulator's context.
/// </summary>
public abstract class SocketConformanceTests<TAdapter>
    where TAdapter : ISocketAdapter, new()
{
    private static readonly IPEndPoint s_server = new(IPAddress.Parse("10.0.0.2"), 7000);

    protected TAdapter Adapter { get; } = new();

    [Fact]
    public void Echo_SmallMessages_ComeBackInOrder()
    {
        var (sim, client, server) = Net.TwoHosts(101);
        using NetSocket listener = Listen(server);
        sim.Run(async () =>
        {
            Task echo = Peer.EchoOneAsync(listener);
            await using IConnectionAdapter connection = await Adapter.ConnectAsync(client, s_server);
            byte[] buffer = new byte[64];
            for (int i = 0; i < 20; i++)
            {
                byte[] message = System.Text.Encoding.ASCII.GetBytes($"message {i}");
                await connection.SendAllAsync(message);
                Assert.Equal(message, await ReceiveExactlyAsync(connection, message.Length));
            }

            await connection.ShutdownSendAsync();
            Assert.Equal(0, await connection.ReceiveAsync(buffer));
            await echo;
        }, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void Accept_AsServer_EchoesWhatThePeerSends()
    {
        var (sim, client, server) = Net.TwoHosts(102);
        using NetSocket listener = Listen(server);
        byte[] data = RandomBytes(50_000, 102);
        sim.Run(async () =>
        {
            Task<byte[]> peer = Peer.SendAndReceiveEchoAsync(client, s_server, data);
            await using IConnectionAdapter connection = await Adapter.AcceptAsync(listener);
            byte[] buffer = new byte[8192];
            int n;
            while ((n = await connection.ReceiveAsync(buffer)) > 0)
            {
                await connection.SendAllAsync(buffer.AsMemory(0, n));
            }

            await connection.ShutdownSendAsync();
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(await peer));
        }, TimeSpan.FromSeconds(60));
    }

    /// <summary>Upload then download, each side reading everything before it sends its FIN (a half-closed receiver
    /// is exercised by the echo tests; see StackBugReproTests for why data must not follow our own FIN).</summary>
    [Fact]
    public void LargeTransfer_OverLossyWire_DeliversEveryByteBothWays()
    {
        var impairments = new LinkImpairments { Delay = TimeSpan.FromMilliseconds(2), Loss = 0.01, Reorder = 0.01 };
        var (sim, client, server) = Net.TwoHosts(103, impairments);
        using NetSocket listener = Listen(server);
        byte[] up = RandomBytes(1 << 20, 1031);
        byte[] down = RandomBytes(1 << 19, 1032);
        sim.Run(async () =>
        {
            Task<byte[]> peer = Peer.ReceiveThenSendAsync(listener, up.Length, down);
            await using IConnectionAdapter connection = await Adapter.ConnectAsync(client, s_server);
            for (int offset = 0; offset < up.Length; offset += 10_000)
            {
                await connection.SendAllAsync(up.AsMemory(offset, Math.Min(10_000, up.Length - offset)));
            }

            byte[] received = await ReceiveToEndAsync(connection);
            await connection.ShutdownSendAsync();
            Assert.Equal(SHA256.HashData(up), SHA256.HashData(await peer));
            Assert.Equal(SHA256.HashData(down), SHA256.HashData(received));
        }, TimeSpan.FromSeconds(300));
    }

    [Fact]
    public void Receive_AfterPeerFin_ReturnsTheDataThenEndOfStreamEveryTime()
    {
        var (sim, client, server) = Net.TwoHosts(104);
        using NetSocket listener = Listen(server);
        byte[] data = RandomBytes(100, 104);
        sim.Run(async () =>
        {
            Task peer = Peer.AcceptSendAndCloseAsync(listener, data);
            await using IConnectionAdapter connection = await Adapter.ConnectAsync(client, s_server);
            Assert.Equal(data, await ReceiveToEndAsync(connection));
            Assert.Equal(0, await connection.ReceiveAsync(new byte[16]));
            Assert.Equal(0, await connection.ReceiveAsync(new byte[16]));
            await peer;
        }, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void Connect_NoListener_FailsWithConnectionRefused()
    {
        var (sim, client, _) = Net.TwoHosts(105);
        sim.Run(async () =>
        {
            Exception error = await Record(async () => await Adapter.ConnectAsync(client, new IPEndPoint(IPAddress.Parse("10.0.0.2"), 7999)));
            Assert.Equal(SocketError.ConnectionRefused, Adapter.ErrorOf(error));
        }, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void Receive_AfterPeerReset_FailsWithConnectionReset()
    {
        var (sim, client, server) = Net.TwoHosts(106);
        using NetSocket listener = Listen(server);
        sim.Run(async () =>
        {
            Task peer = Peer.AcceptAndResetAsync(listener);
            await using IConnectionAdapter connection = await Adapter.ConnectAsync(client, s_server);
            await peer;
            Exception error = await Record(async () => await ReceiveToEndAsync(connection));
            Assert.IsAssignableFrom(Adapter.ReceiveErrorType, error);
            Assert.Equal(SocketError.ConnectionReset, Adapter.ErrorOf(error));
        }, TimeSpan.FromSeconds(60));
    }

    private static NetSocket Listen(NetStack stack)
    {
        var listener = new NetSocket(stack, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, s_server.Port));
        listener.Listen(16);
        return listener;
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static async Task<Exception> Record(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex)
        {
            return ex;
        }

        throw new Xunit.Sdk.XunitException("expected an error, the operation succeeded");
    }

    internal static async Task<byte[]> ReceiveExactlyAsync(IConnectionAdapter connection, int length)
    {
        byte[] buffer = new byte[length];
        int got = 0;
        while (got < length)
        {
            int n = await connection.ReceiveAsync(buffer.AsMemory(got));
            Assert.True(n > 0, $"end of stream after {got} of {length} bytes");
            got += n;
        }

        return buffer;
    }

    internal static async Task<byte[]> ReceiveToEndAsync(IConnectionAdapter connection)
    {
        var received = new MemoryStream();
        byte[] buffer = new byte[16384];
        int n;
        while ((n = await connection.ReceiveAsync(buffer)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        return received.ToArray();
    }
}

public sealed class BsdSocketConformanceTests : SocketConformanceTests<BsdAdapter>;

public sealed class AsyncSocketConformanceTests : SocketConformanceTests<AsyncAdapter>;

public sealed class StreamSocketConformanceTests : SocketConformanceTests<StreamAdapter>;

public sealed class PipeSocketConformanceTests : SocketConformanceTests<PipeAdapter>;
