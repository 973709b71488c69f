using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;

namespace Wirestack.Simulation.Scenarios;

/// <summary>Seed 004 §3.3: writing to a connection whose peer has gone. The peer closes its socket (FIN); the
/// client's next write still succeeds (it is only queued) but the data reaches a socket nobody holds, so the peer's
/// stack answers RST. Like Linux, the first write after the reset reports ECONNRESET and later writes EPIPE
/// (broken pipe).</summary>
public sealed class BrokenPipeScenario : IScenario
{
    public string Name => "broken-pipe";

    public string Description => "write after the peer has closed: the first write is accepted, the peer answers RST, then ECONNRESET, then EPIPE";

    public ScenarioResult Run(ScenarioOptions options)
    {
        var run = new ScenarioRun(this, options);
        NetStack clientHost = run.Host("client");
        NetStack serverHost = run.Host("server");
        var wire = run.Wire(clientHost, "10.0.0.1/24", serverHost, "10.0.0.2/24");
        run.WatchTcp(wire, p =>
            p.Tcp.Has(Wire.TcpFlags.Fin) ? $"receives FIN from {p.From}" :
            p.IsRst ? $"receives RST from {p.From}" :
            p.PayloadLength > 0 ? $"receives {p.PayloadLength} bytes from {p.From}" : null);

        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(8);
        using var client = new NetSocket(clientHost, SocketType.Stream);
        client.Connect(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 80));
        NetSocket server = listener.Accept();
        run.Trace(clientHost, "client", client.Connection!);
        string name = "client " + ScenarioRun.Endpoints(client.Connection!);
        run.Note(clientHost, $"connected ({name})");

        run.RunFor(TimeSpan.FromMilliseconds(100));
        server.Close();
        run.Note(serverHost, "the server closes its socket (close(): FIN; the connection is now an orphan nobody reads)");
        run.RunFor(TimeSpan.FromMilliseconds(100));
        run.Sockets(clientHost, "the client after the peer's FIN");

        byte[] request = "GET / HTTP/1.0\r\n\r\n"u8.ToArray();
        int n = client.Send(request, out SocketError first);
        run.Note(clientHost, $"write #1: send({request.Length} bytes) = {n}, {SocketErrors.ToErrno(first)}: the peer only said it will send no more; writing is still allowed");
        run.Check(first == SocketError.Success && n == request.Length, "the first write after the peer's FIN is accepted");
        run.RunFor(TimeSpan.FromMilliseconds(100));

        var writes = new List<SocketError>();
        for (int i = 2; i <= 4; i++)
        {
            client.Send(request, out SocketError e);
            writes.Add(e);
            run.Error(clientHost, $"{name} write #{i}", e, client.ErrorCause);
        }

        byte[] buffer = new byte[64];
        int r1 = client.Receive(buffer, out SocketError read1);
        int r2 = client.Receive(buffer, out SocketError read2);
        run.Note(clientHost, $"recv() = {(read1 == SocketError.Success ? r1.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-1 " + SocketErrors.ToErrno(read1))}, " +
            $"then recv() = {(read2 == SocketError.Success ? r2.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-1 " + SocketErrors.ToErrno(read2))}");

        run.Check(writes[0] == SocketError.ConnectionReset, $"the first write after the RST reports ECONNRESET (got {SocketErrors.ToErrno(writes[0])})");
        run.Check(writes.Skip(1).All(e => e == SocketError.Shutdown),
            $"later writes report EPIPE, as Linux does (got {string.Join(", ", writes.Skip(1).Select(SocketErrors.ToErrno))})");
        long abortOnData;
        lock (serverHost.SyncRoot)
        {
            abortOnData = serverHost.Counters.Tcp.TCPAbortOnData;
        }

        run.Check(abortOnData == 1, $"the server counts the data that reached its closed socket (TCPAbortOnData {abortOnData})");
        run.Fact("write2_epipe", writes[1] == SocketError.Shutdown ? 1 : 0);

        run.Key(serverHost, "TcpExt", "TCPAbortOnData", "data arrived for a socket the application had closed: reset");
        run.Key(serverHost, "Tcp", "OutRsts", "resets sent");
        run.Key(clientHost, "Tcp", "EstabResets", "connections reset by the peer");
        run.Summary("The peer's close() sent FIN: 'I will send no more'. TCP is full duplex, so the client could still write, and its first write succeeded.");
        run.Summary("But no application held the peer's socket, so its stack answered the data with RST (TCPAbortOnData).");
        run.Summary($"After the reset the client's writes failed: {string.Join(", ", writes.Select(SocketErrors.ToErrno))} (Linux: ECONNRESET once, then EPIPE and SIGPIPE).");
        server.Dispose();
        return run.Finish();
    }
}
