using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Tests.Support;
using Wirestack.Wire;
using Xunit.Abstractions;

namespace Wirestack.Tests.Sockets;

/// <summary>
/// What one whole connection allocates (both ends): connect, accept, a byte each way, close, as the connection-rate
/// bench does it (explicit bind, non-blocking). The objects a user can reach must stay (two <see cref="NetSocket"/>s,
/// two <c>TcpConnection</c>s with their CUBIC, <c>RttEstimator</c> and timer entry); what was cut must not come back:
/// a closure per explicit bind, an accept-queue node, the SYN-time list, the cold timer fields inside
/// <c>TcpConnection</c> (see PERFORMANCE.md, connection rate).
/// </summary>
public sealed class ConnectionAllocationTests(ITestOutputHelper output)
{
    private const ushort ServerPort = 80;
    private static readonly IPv4Address ClientAddress = IPv4Address.Parse("10.0.0.1");
    private static readonly IPv4Address ServerAddress = IPv4Address.Parse("10.0.0.2");

    [Fact]
    public void A_whole_connection_allocates_no_more_than_its_reachable_objects()
    {
        var (sim, clientStack, serverStack) = Net.TwoHosts(313);
        using var listener = new NetSocket(serverStack, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, ServerPort));
        listener.Listen(16);
        listener.Blocking = false;
        byte[] one = [42];
        byte[] buffer = new byte[16];
        int port = 20000;

        Connections(sim, clientStack, listener, one, buffer, ref port, 200); // warm-up: pools, tables, JIT
        const int count = 500;
        long least = long.MaxValue;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Connections(sim, clientStack, listener, one, buffer, ref port, count);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        double perConnection = (double)least / count;
        output.WriteLine($"{perConnection:0.#} B per connection");
        // 2 × (TcpConnection 424 + NetSocket 112 + Cubic 96 + RttEstimator 80 + TimerEntry 64) = 1,552 B (the
        // simulator's wire allocates nothing per packet); 1,808 B before the cuts. TcpConnection grew from 416 to 424 B
        // with the peer's measured segment size (tcpi_rcv_mss), which used up the slack this bound had: 1,552.1 B was
        // then measured when a table grew during the run. The slack of 16 B absorbs such a table (1.7 B per
        // connection was seen) and a field joining TcpConnection, not any of the cut allocations (24 B and more per
        // connection) coming back.
        Assert.True(perConnection <= 1568, $"{perConnection:0.#} B per connection, more than the 1,552 B of the objects a user can reach");
    }

    /// <summary>One connection at a time; no asserts inside (xUnit's allocate).</summary>
    private static void Connections(Wirestack.Simulation.Simulator sim, Wirestack.Stack.NetStack clientStack, NetSocket listener,
        byte[] one, byte[] buffer, ref int port, int count)
    {
        for (int i = 0; i < count; i++)
        {
            var client = new NetSocket(clientStack, SocketType.Stream) { Blocking = false };
            port = port >= 60000 ? 20000 : port + 1;
            if (client.Bind(ClientAddress, (ushort)port) != SocketError.Success ||
                client.Connect(ServerAddress, ServerPort) is not (SocketError.InProgress or SocketError.Success))
            {
                throw new InvalidOperationException("connect failed");
            }

            NetSocket? server = null;
            while ((server ??= listener.Accept(out _)) is null || !client.Connected)
            {
                sim.Step();
            }

            server!.Blocking = false;
            client.Send(one, out _);
            while (server.Receive(buffer, out _) != 1)
            {
                sim.Step();
            }

            server.Send(one, out _);
            server.Close();
            while (client.Receive(buffer, out _) != 1)
            {
                sim.Step();
            }

            while (client.Receive(buffer, out SocketError error) != 0 || error != SocketError.Success)
            {
                sim.Step();
            }

            client.Close();
        }
    }
}
