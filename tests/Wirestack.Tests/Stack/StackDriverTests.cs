using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Links;
using Wirestack.Sockets;
using Wirestack.Stack;
using Xunit.Abstractions;

using Wirestack.Tests.Support;

namespace Wirestack.Tests.Stack;

/// <summary>
/// The real-time driver (seed 002's lock rule under load): many user threads in blocking calls on one stack while
/// the driver thread delivers and polls, async handlers on the thread pool on the other. Every wait is bounded: the
/// sockets have timeouts and the test waits for conditions with deadlines, so a deadlock fails instead of hanging.
/// Nothing here asserts on timing.
/// </summary>
[Collection("RealTime")]
public sealed class StackDriverTests(ITestOutputHelper output)
{
    private const int Threads = 8;
    private const int ConnectionsPerThread = 50;
    private const int UploadBytes = 64 * 1024;
    private const int ReplyBytes = 16 * 1024;
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task BlockingConnect_SendReceive_OverRealTimeDriver()
    {
        using var driver = new StackDriver();
        var (client, server) = TwoStacks(driver, new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1) });
        driver.Start();
        using NetSocket listener = Listen(server);
        Task<byte[]> echo = Task.Run(async () =>
        {
            using NetSocket socket = await listener.AcceptAsync();
            byte[] received = await ReadExactlyAsync(socket, 100_000);
            await socket.SendAsync(received);
            return received;
        });

        using var socket = new NetSocket(client, SocketType.Stream) { ReceiveTimeout = s_bound, SendTimeout = s_bound };
        socket.Connect(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 80));
        byte[] data = new byte[100_000];
        new Random(1).NextBytes(data);
        Assert.Equal(data.Length, socket.Send(data));
        byte[] back = new byte[data.Length];
        int got = 0;
        while (got < back.Length)
        {
            int n = socket.Receive(back.AsSpan(got));
            Assert.True(n > 0);
            got += n;
        }

        Assert.Equal(data, back);
        Assert.Equal(data, await echo.WaitAsync(s_bound));
        Assert.Null(driver.Fault);
    }

    [Fact]
    public async Task Stress_ManyThreadsConnectSendReceiveClose_NoDeadlockNoLossBudgetsBackToZero()
    {
        var stopwatch = Stopwatch.StartNew();
        using var driver = new StackDriver { CheckInvariants = true };
        var (client, server) = TwoStacks(driver, new LinkImpairments { Loss = 0.005 }, timeWait: TimeSpan.FromMilliseconds(200));
        SimulatedWire wire = driver.Stacks.Count == 2 ? WireOf(client) : throw new InvalidOperationException();
        driver.Start();
        NetSocket listener = Listen(server);
        int total = Threads * ConnectionsPerThread;
        using var cancel = new CancellationTokenSource(s_bound);
        Task serving = Task.Run(() => ServeAsync(listener, total, cancel.Token));

        var failures = new List<Exception>();
        var threads = new List<Thread>();
        for (int t = 0; t < Threads; t++)
        {
            int index = t;
            var thread = new Thread(() =>
            {
                try
                {
                    RunClient(client, index);
                }
                catch (Exception ex)
                {
                    lock (failures)
                    {
                        failures.Add(ex);
                    }
                }
            }) { IsBackground = true, Name = $"client-{t}" };
            threads.Add(thread);
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(s_bound), $"client thread {thread.Name} did not finish: deadlock? driver fault: {driver.Fault}");
        }

        Assert.Empty(failures);
        await serving.WaitAsync(s_bound); // throws TimeoutException rather than hang
        listener.Close();

        // Every connection ends (TIME-WAIT is 200 ms here), and then every byte of both budgets is back.
        Assert.True(driver.WaitFor(client, () => client.Tcp.ConnectionCount == 0 && client.Budget.InUse == 0, s_bound),
            $"client: {client.Tcp.ConnectionCount} connections, {client.Budget.InUse} B in use");
        Assert.True(driver.WaitFor(server, () => server.Tcp.ConnectionCount == 0 && server.Budget.InUse == 0, s_bound),
            $"server: {server.Tcp.ConnectionCount} connections, {server.Budget.InUse} B in use");
        foreach (NetStack stack in new[] { client, server })
        {
            lock (stack.SyncRoot)
            {
                stack.Tcp.CheckInvariants();
                Assert.Equal(0, stack.Pool.LeasedCount);
            }
        }

        Assert.Null(driver.Fault);
        driver.Dispose();
        Assert.Equal(0, wire.Pool.LeasedCount);
        output.WriteLine($"{Threads} threads x {ConnectionsPerThread} connections x {UploadBytes / 1024} KiB up + {ReplyBytes / 1024} KiB down " +
            $"in {stopwatch.Elapsed.TotalSeconds:0.0} s; {driver.Iterations} driver iterations; {wire.Counters.Delivered} packets, {wire.Counters.Lost} lost; " +
            $"budget high water {client.Budget.HighWater / 1024} KiB client, {server.Budget.HighWater / 1024} KiB server");
    }

    /// <summary>One client thread: blocking BSD calls only. Each connection uploads a length-prefixed random body,
    /// reads the server's SHA-256 of it and a reply, reads the end of stream, and closes.</summary>
    private static void RunClient(NetStack stack, int index)
    {
        var random = new Random(index);
        byte[] upload = new byte[8 + UploadBytes];
        byte[] reply = new byte[32 + ReplyBytes];
        for (int i = 0; i < ConnectionsPerThread; i++)
        {
            random.NextBytes(upload.AsSpan(8));
            BitConverter.TryWriteBytes(upload, (long)UploadBytes);
            using var socket = new NetSocket(stack, SocketType.Stream) { ReceiveTimeout = s_bound, SendTimeout = s_bound };
            socket.Connect(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 80));
            Assert.Equal(upload.Length, socket.Send(upload));
            int got = 0;
            while (got < reply.Length)
            {
                int n = socket.Receive(reply.AsSpan(got));
                Assert.True(n > 0, $"thread {index} connection {i}: end of stream after {got} bytes");
                got += n;
            }

            Assert.Equal(SHA256.HashData(upload.AsSpan(8)), reply[..32]);
            Assert.Equal(Reply(), reply[32..]);
            Assert.Equal(0, socket.Receive(new byte[1]));
        }
    }

    private static async Task ServeAsync(NetSocket listener, int connections, CancellationToken cancellationToken)
    {
        var handlers = new List<Task>();
        for (int i = 0; i < connections; i++)
        {
            NetSocket socket = await listener.AcceptAsync(cancellationToken);
            handlers.Add(Task.Run(() => HandleAsync(socket, cancellationToken), cancellationToken));
        }

        await Task.WhenAll(handlers);
    }

    private static async Task HandleAsync(NetSocket socket, CancellationToken cancellationToken)
    {
        using (socket)
        {
            byte[] header = await ReadExactlyAsync(socket, 8, cancellationToken);
            long length = BitConverter.ToInt64(header);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[] buffer = new byte[16384];
            long remaining = length;
            while (remaining > 0)
            {
                int n = await socket.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken);
                if (n == 0)
                {
                    throw new IOException($"end of stream with {remaining} bytes to go");
                }

                hash.AppendData(buffer, 0, n);
                remaining -= n;
            }

            await socket.SendAsync(hash.GetHashAndReset(), cancellationToken);
            await socket.SendAsync(Reply(), cancellationToken);
            socket.Shutdown(SocketShutdown.Send);
            if (await socket.ReceiveAsync(buffer, cancellationToken) != 0)
            {
                throw new IOException("data after the upload");
            }
        }
    }

    private static byte[] Reply()
    {
        byte[] reply = new byte[ReplyBytes];
        for (int i = 0; i < reply.Length; i++)
        {
            reply[i] = (byte)(i * 7);
        }

        return reply;
    }

    private static async Task<byte[]> ReadExactlyAsync(NetSocket socket, int length, CancellationToken cancellationToken = default)
    {
        byte[] buffer = new byte[length];
        int got = 0;
        while (got < length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(got), cancellationToken);
            if (n == 0)
            {
                throw new IOException($"end of stream after {got} of {length} bytes");
            }

            got += n;
        }

        return buffer;
    }

    private static (NetStack Client, NetStack Server) TwoStacks(StackDriver driver, LinkImpairments impairments, TimeSpan? timeWait = null)
    {
        NetStackOptions Options(string name, int seed)
        {
            var options = new NetStackOptions { Name = name, Seed = seed };
            if (timeWait is { } tw)
            {
                options.Tcp.TimeWait = tw;
            }

            return options;
        }

        NetStack client = driver.CreateStack(Options("client", 11));
        NetStack server = driver.CreateStack(Options("server", 12));
        driver.Connect(client, "10.0.0.1/24", server, "10.0.0.2/24", impairments, seed: 13);
        return (client, server);
    }

    private static SimulatedWire WireOf(NetStack stack) =>
        ((SimulatedPort)((SynchronizedLink)stack.Interfaces[0].Device).Inner).Wire;

    private static NetSocket Listen(NetStack stack)
    {
        var listener = new NetSocket(stack, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(512);
        return listener;
    }
}
