using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Wire;

namespace Wirestack.Simulation.Scenarios;

/// <summary>Seed 004 §1.3.1: the host is there but nothing listens on the port: it answers the SYN with RST,ACK and
/// connect() fails at once with ECONNREFUSED (blocking), or the socket turns writable with SO_ERROR set
/// (non-blocking).</summary>
public sealed class RefusedScenario : IScenario
{
    public string Name => "refused";

    public string Description => "connect() to a port nobody listens on: the peer answers RST,ACK and connect fails with ECONNREFUSED";

    public ScenarioResult Run(ScenarioOptions options)
    {
        var run = new ScenarioRun(this, options);
        NetStack client = run.Host("client");
        NetStack server = run.Host("server");
        var wire = run.Wire(client, "10.0.0.1/24", server, "10.0.0.2/24");
        var target = IPv4Address.Parse("10.0.0.2");
        run.WatchTcp(wire, p => p.IsSyn || p.IsRst ? $"receives {p.Flags} from {p.From}" : null);

        // a. blocking
        using var blocking = new NetSocket(client, SocketType.Stream);
        run.Note(client, $"a. connect() to {target}:81 (nothing listens there), blocking");
        var started = run.Sim.Now;
        SocketError error = blocking.Connect(target, 81);
        double took = (run.Sim.Now - started).TotalSeconds;
        run.Note(client, $"connect() returns {SocketErrors.ToErrno(error)} after {ScenarioRun.S(took * 1000)} ms (one round trip)");
        if (error != SocketError.Success)
        {
            run.Error(client, "a " + ScenarioRun.Endpoints(blocking.Connection!), error, blocking.ErrorCause);
        }

        run.Fact("blocking_connect_ms", took * 1000);
        run.Check(error == SocketError.ConnectionRefused, $"blocking connect fails with ECONNREFUSED (got {SocketErrors.ToErrno(error)})");
        run.Check(blocking.ErrorCause?.Contains("RST,ACK", StringComparison.Ordinal) == true, "the explanation names the RST,ACK");

        // b. non-blocking: EINPROGRESS at once, then writable with SO_ERROR
        run.Sim.RunFor(TimeSpan.FromSeconds(1));
        using var nonBlocking = new NetSocket(client, SocketType.Stream) { Blocking = false };
        SocketError first = nonBlocking.Connect(target, 81);
        run.Note(client, $"b. connect() to {target}:81, non-blocking: returns {SocketErrors.ToErrno(first)} at once");
        run.Check(first == SocketError.InProgress, $"non-blocking connect returns EINPROGRESS (got {SocketErrors.ToErrno(first)})");
        run.RunUntil(() => (nonBlocking.Readiness & SocketReadiness.Writable) != 0, TimeSpan.FromSeconds(5));
        SocketReadiness readiness = nonBlocking.Readiness;
        string cause = nonBlocking.ErrorCause ?? "";
        SocketError soError = nonBlocking.GetPendingError();
        run.Note(client, $"poll() says {readiness}; getsockopt(SO_ERROR) = {SocketErrors.ToErrno(soError)}");
        if (soError != SocketError.Success)
        {
            run.Error(client, "b " + ScenarioRun.Endpoints(nonBlocking.Connection!), soError, cause);
        }

        run.Check((readiness & SocketReadiness.Error) != 0, "the socket polls writable with an error");
        run.Check(soError == SocketError.ConnectionRefused, $"SO_ERROR is ECONNREFUSED (got {SocketErrors.ToErrno(soError)})");

        run.Key(client, "Tcp", "ActiveOpens", "connections this host opened");
        run.Key(client, "Tcp", "AttemptFails", "connection attempts that failed");
        run.Key(server, "Tcp", "InSegs", "SYNs that arrived");
        run.Key(server, "Tcp", "OutRsts", "resets it answered them with");
        run.Summary($"Both connects failed with ECONNREFUSED one round trip after the SYN ({ScenarioRun.S(took * 1000)} ms): the server's stack answered RST,ACK because nothing listens on port 81.");
        run.Summary("A refusal is fast and certain; compare syn-timeout, where nothing answers and the client waits 127 s.");
        return run.Finish();
    }
}
