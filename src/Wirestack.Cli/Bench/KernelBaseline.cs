using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Wirestack.Cli.Bench;

/// <summary>
/// The System.Net.Sockets side of every measurement, over the kernel's loopback (127.0.0.1): blocking sockets,
/// one thread per sending and per receiving end. Run by <c>wirestack bench-baseline</c>, normally inside a network
/// namespace whose <c>lo</c> has the MTU under test, or in-process in smoke mode.
/// </summary>
internal static class KernelBaseline
{
    private const int AppChunkBytes = WirestackBenchmarks.AppChunkBytes;

    /// <summary>Bulk throughput of <paramref name="connections"/> connections: a sender thread per connection
    /// writes 64 KiB at a time, a receiver thread per connection reads 64 KiB at a time; kernel buffer
    /// autotuning as configured.</summary>
    public static BulkFigure Bulk(int connections, TimeSpan warmup, TimeSpan measure)
    {
        using var listener = Listen(out IPEndPoint endpoint, connections);
        var clients = new Socket[connections];
        var servers = new Socket[connections];
        for (int i = 0; i < connections; i++)
        {
            clients[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            clients[i].Connect(endpoint);
            servers[i] = listener.Accept();
        }

        long[] received = new long[connections * 16]; // one cache line apart
        bool stop = false;
        var threads = new List<Thread>();
        for (int i = 0; i < connections; i++)
        {
            int index = i;
            threads.Add(new Thread(() =>
            {
                byte[] source = new byte[AppChunkBytes];
                new Random(index).NextBytes(source);
                try
                {
                    while (!Volatile.Read(ref stop))
                    {
                        clients[index].Send(source);
                    }
                }
                catch (SocketException)
                {
                }
                catch (ObjectDisposedException)
                {
                }
            }) { IsBackground = true, Name = $"send {i}" });
            threads.Add(new Thread(() =>
            {
                byte[] sink = new byte[AppChunkBytes];
                try
                {
                    int n;
                    while ((n = servers[index].Receive(sink)) > 0)
                    {
                        Volatile.Write(ref received[index * 16], received[index * 16] + n);
                    }
                }
                catch (SocketException)
                {
                }
                catch (ObjectDisposedException)
                {
                }
            }) { IsBackground = true, Name = $"receive {i}" });
        }

        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        Thread.Sleep(warmup);
        long startBytes = Sum(received);
        long start = Stopwatch.GetTimestamp();
        TimeSpan cpuStart = CpuTime.Process();
        Thread.Sleep(measure);
        long bytes = Sum(received) - startBytes;
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        double cpu = (CpuTime.Process() - cpuStart).TotalSeconds;
        Volatile.Write(ref stop, true);
        foreach (Socket socket in clients.Concat(servers))
        {
            try
            {
                socket.Shutdown(SocketShutdown.Both); // wakes the threads blocked in send and receive
            }
            catch (SocketException)
            {
            }
        }

        foreach (Thread thread in threads)
        {
            thread.Join(TimeSpan.FromSeconds(5));
        }

        foreach (Socket socket in clients.Concat(servers))
        {
            socket.Close(0);
        }

        return new BulkFigure(bytes * 8 / seconds / 1e9, bytes, seconds, CpuSeconds: cpu);
    }

    private static long Sum(long[] counters)
    {
        long sum = 0;
        for (int i = 0; i < counters.Length; i += 16)
        {
            sum += Volatile.Read(ref counters[i]);
        }

        return sum;
    }

    /// <summary>Connections per second, one at a time, the same exchange as Wirestack's: a client thread
    /// connects, sends one byte, reads the answer and the end of stream, closes; a server thread accepts, reads
    /// the byte, answers one byte and closes first.</summary>
    public static RateFigure ConnectionRate(TimeSpan warmup, TimeSpan measure)
    {
        using var listener = Listen(out IPEndPoint endpoint, 4096);
        bool stop = false;
        var server = new Thread(() =>
        {
            byte[] buffer = new byte[16];
            try
            {
                while (!Volatile.Read(ref stop))
                {
                    using Socket accepted = listener.Accept();
                    if (accepted.Receive(buffer) == 1)
                    {
                        accepted.Send(buffer.AsSpan(0, 1));
                    }
                }
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }) { IsBackground = true, Name = "accept" };
        server.Start();
        byte[] one = [42];
        byte[] reply = new byte[16];
        long count = 0;
        long countAtStart = 0;
        TimeSpan cpuAtStart = default;
        long start = Stopwatch.GetTimestamp();
        long measureStart = 0;
        var gate = new WarmupGate(warmup);
        long measureTicks = (long)(measure.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                client.Connect(endpoint);
                client.Send(one);
                if (client.Receive(reply) != 1 || client.Receive(reply) != 0)
                {
                    throw new InvalidOperationException("kernel baseline: the server did not answer one byte and close");
                }
            }

            count++;
            long now = Stopwatch.GetTimestamp() - start;
            if (measureStart == 0 && gate.IsOver(now))
            {
                measureStart = now;
                countAtStart = count;
                cpuAtStart = CpuTime.Process();
            }
            else if (measureStart != 0 && now - measureStart >= measureTicks)
            {
                double cpu = (CpuTime.Process() - cpuAtStart).TotalSeconds;
                Volatile.Write(ref stop, true);
                listener.Close();
                server.Join(TimeSpan.FromSeconds(5));
                double seconds = (double)(now - measureStart) / Stopwatch.Frequency;
                return new RateFigure((count - countAtStart) / seconds, count - countAtStart, seconds, CpuSeconds: cpu);
            }
        }
    }

    /// <summary>One-byte ping-pong round trips on one connection, TCP_NODELAY on both ends, a thread each, timed
    /// after a warm-up (<see cref="WarmupGate"/>).</summary>
    public static LatencyFigure PingPong(int count, TimeSpan warmup)
    {
        using var listener = Listen(out IPEndPoint endpoint, 1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect(endpoint);
        using Socket server = listener.Accept();
        server.NoDelay = true;
        var echo = new Thread(() =>
        {
            byte[] buffer = new byte[16];
            try
            {
                while (server.Receive(buffer) == 1)
                {
                    server.Send(buffer.AsSpan(0, 1));
                }
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }) { IsBackground = true, Name = "echo" };
        echo.Start();
        byte[] one = [7];
        byte[] reply = new byte[16];
        long[] samples = new long[count];
        var gate = new WarmupGate(warmup);
        long start = Stopwatch.GetTimestamp();
        bool warm = false;
        for (int i = 0; i < count;)
        {
            long t0 = Stopwatch.GetTimestamp();
            client.Send(one);
            if (client.Receive(reply) != 1)
            {
                throw new InvalidOperationException("kernel baseline: the echo thread stopped");
            }

            long t1 = Stopwatch.GetTimestamp();
            if (warm)
            {
                samples[i++] = t1 - t0;
            }
            else
            {
                warm = gate.IsOver(t1 - start);
            }
        }

        client.Shutdown(SocketShutdown.Both);
        echo.Join(TimeSpan.FromSeconds(5));
        return LatencyFigure.From(samples);
    }

    /// <summary>Memory per idle established endpoint: as many connections as asked for and the open-file limit
    /// allows (two descriptors each, both ends in this process), spread over several listener ports (one 4-tuple
    /// space holds 28,232 ephemeral ports). Managed heap, process RSS and the kernel's slab growth (where the
    /// kernel's socket structures live), each divided by the endpoints.</summary>
    public static MemoryFigure IdleMemory(int connections)
    {
        const int PerListener = 20_000;
        long? fdLimit = ProcessMemory.OpenFileLimit();
        int open = connections;
        string? limit = null;
        if (fdLimit is { } fds && 2L * connections + 64 > fds)
        {
            open = (int)Math.Max(0, (fds - 64) / 2);
            limit = $"open-file limit {fds} (ulimit -n) allows {open:N0} connections, not {connections:N0}";
        }

        WirestackBenchmarks.Settle();
        long managedBefore = GC.GetTotalMemory(true);
        long rssBefore = ProcessMemory.ResidentBytes();
        long slabBefore = ProcessMemory.KernelSlabBytes();
        long start = Stopwatch.GetTimestamp();
        int listenerCount = Math.Max(1, (open + PerListener - 1) / PerListener);
        var listeners = new Socket[listenerCount];
        var endpoints = new IPEndPoint[listenerCount];
        for (int i = 0; i < listenerCount; i++)
        {
            listeners[i] = Listen(out endpoints[i], 4096);
        }

        var sockets = new List<Socket>(2 * open);
        try
        {
            for (int i = 0; i < open; i++)
            {
                // Any step may meet a limit of the system rather than of the process (ENFILE: the kernel's file
                // table, or its memory accounting): stop there and report what was opened, and why no more.
                Socket? client = null;
                try
                {
                    client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    client.Connect(endpoints[i / PerListener]);
                    Socket accepted = listeners[i / PerListener].Accept();
                    sockets.Add(client);
                    sockets.Add(accepted);
                }
                catch (SocketException ex)
                {
                    client?.Dispose();
                    limit = $"connection {i + 1:N0} failed: {ex.SocketErrorCode} ({ex.Message})";
                    open = i;
                    break;
                }
            }

            long managedAfter = GC.GetTotalMemory(true);
            long rssAfter = ProcessMemory.ResidentBytes();
            long slabAfter = ProcessMemory.KernelSlabBytes();
            double endpointCount = Math.Max(1, 2.0 * open);
            return new MemoryFigure(open, open, (managedAfter - managedBefore) / endpointCount, (rssAfter - rssBefore) / endpointCount,
                (slabAfter - slabBefore) / endpointCount, Stopwatch.GetElapsedTime(start).TotalSeconds, connections, limit);
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Close(0);
            }

            foreach (Socket listener in listeners)
            {
                listener.Dispose();
            }
        }
    }

    private static Socket Listen(out IPEndPoint endpoint, int backlog)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(backlog);
        endpoint = (IPEndPoint)listener.LocalEndPoint!;
        return listener;
    }
}
