using System.Net.Sockets;
using System.Text;
using Wirestack.Cli.Output;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Cli.Scenarios;

/// <summary>
/// The guided tour behind <c>wirestack demo</c>: alice and bob on a 5 ms wire (and carol, who never answers, on a
/// second one), then ping, a UDP echo, a 1 MiB TCP transfer over a lossy wire, two failing connects, and the
/// counters that tell it all. Each part records its outcome for the JSON output and says whether it went as
/// expected.
/// </summary>
internal sealed partial class DemoScript
{
    public const int PingCount = 3;
    public const ushort EchoPort = 7;
    public const int TransferBytes = 1024 * 1024;
    public const double TransferLoss = 0.01;
    public static readonly TimeSpan WireDelay = TimeSpan.FromMilliseconds(5);

    private static readonly IPv4Address s_alice = IPv4Address.Parse("10.0.0.1");
    private static readonly IPv4Address s_bob = IPv4Address.Parse("10.0.0.2");
    private static readonly IPv4Address s_carol = IPv4Address.Parse("10.0.1.3");

    private readonly Narrator _say;

    public DemoScript(int seed, Narrator narrator)
    {
        _say = narrator;
        Seed = seed;
        Sim = new Simulator(seed);
        Alice = Sim.AddHost("alice");
        Bob = Sim.AddHost("bob");
        Carol = Sim.AddHost("carol");
        var wire = new LinkImpairments { Delay = WireDelay };
        AliceBob = Sim.Connect(Alice, "10.0.0.1/24", Bob, "10.0.0.2/24", wire);
        AliceCarol = Sim.Connect(Alice, "10.0.1.1/24", Carol, "10.0.1.3/24", wire);
        // A silent host: carol hears everything but has no route to answer anyone (no reply, no RST, no ICMP).
        Carol.Ip.Routes.Clear();
    }

    public int Seed { get; }

    public Simulator Sim { get; }

    public NetStack Alice { get; }

    public NetStack Bob { get; }

    public NetStack Carol { get; }

    public SimulatedWire AliceBob { get; }

    public SimulatedWire AliceCarol { get; }

    public PingResult? Ping { get; private set; }

    public UdpOutcome? Udp { get; private set; }

    public TransferResult? Tcp { get; private set; }

    /// <summary>Packets the lossy wire dropped during the transfer (both directions).</summary>
    public long TcpWireLost { get; private set; }

    public List<StoryOutcome> Stories { get; } = [];

    /// <summary>What did not go as the demo expects, one line each (empty when all went well).</summary>
    public List<string> Surprises { get; } = [];

    /// <summary>Runs every part in order.</summary>
    public void Run()
    {
        RunPing();
        NextSecond();
        RunUdp();
        NextSecond();
        RunTcp();
        NextSecond();
        RunRefusedStory();
        NextSecond();
        RunSilentHostStory();
    }

    private void RunPing()
    {
        _say.Heading($"1. Ping: alice sends bob {PingCount} ICMP echo requests, one a second");
        var run = new PingRun(Sim, Alice, s_bob)
        {
            OnSent = (t, seq) => _say.At(t, $"alice → bob    echo request  icmp_seq={seq}"),
            OnReply = (t, seq, rtt) => _say.At(t, $"bob → alice    echo reply    icmp_seq={seq}  time={Units.FormatDuration(rtt)}"),
            OnSendError = (t, seq, error) => _say.At(t, $"alice could not send icmp_seq={seq}: {SocketErrors.ToErrno(error)}"),
        };
        Ping = run.Run(PingCount);
        _say.Note($"{Ping.Sent} sent, {Ping.Received} received, {Ping.LossPercent:0.#}% loss. " +
            $"Each round trip is the wire's {Units.FormatDuration(WireDelay)} there and {Units.FormatDuration(WireDelay)} back.");
        Expect(Ping.Received == PingCount, $"ping: {Ping.Received} of {PingCount} replies came back");
    }

    private void RunUdp()
    {
        _say.Heading($"2. UDP: bob echoes one datagram on port {EchoPort}");
        using var server = new NetSocket(Bob, SocketType.Dgram) { ReceiveTimeout = TimeSpan.FromSeconds(1) };
        using var client = new NetSocket(Alice, SocketType.Dgram) { ReceiveTimeout = TimeSpan.FromSeconds(1) };
        SocketError error = server.Bind(IPv4Address.Any, EchoPort);
        _say.At(Sim.Now, $"bob binds UDP port {EchoPort}");
        byte[] message = Encoding.ASCII.GetBytes("hello bob, this is alice");
        Instant start = Sim.Now;
        if (error == SocketError.Success)
        {
            error = client.SendTo(message, s_bob, EchoPort);
        }

        if (error != SocketError.Success)
        {
            Fail($"udp: {SocketErrors.ToErrno(error)} before anything was sent");
            return;
        }

        _say.At(Sim.Now, $"alice, from port {client.LocalEndPoint?.Port}, sends {message.Length} bytes to {s_bob}:{EchoPort}: \"{Encoding.ASCII.GetString(message)}\"");
        byte[] buffer = new byte[1500];
        int n = server.ReceiveFrom(buffer, out IPv4Address from, out ushort fromPort, out error);
        if (error != SocketError.Success)
        {
            Fail($"udp: bob received nothing ({SocketErrors.ToErrno(error)})");
            return;
        }

        _say.At(Sim.Now, $"bob receives {n} bytes from {from}:{fromPort} and sends them back");
        server.SendTo(buffer.AsSpan(0, n), from, fromPort);
        int echoed = client.ReceiveFrom(buffer, out IPv4Address echoFrom, out ushort echoPort, out error);
        if (error != SocketError.Success)
        {
            Fail($"udp: the echo did not come back ({SocketErrors.ToErrno(error)})");
            return;
        }

        bool same = buffer.AsSpan(0, echoed).SequenceEqual(message);
        _say.At(Sim.Now, $"alice receives {echoed} bytes from {echoFrom}:{echoPort}: {(same ? "the same bytes" : "DIFFERENT bytes")}");
        Udp = new UdpOutcome(EchoPort, message.Length, echoed, same, Sim.Now - start);
        _say.Note($"No connection, no handshake: one datagram each way, {Units.FormatDuration(Udp.RoundTrip)} in all.");
        Expect(same, "udp: the echo differs from what alice sent");

        void Fail(string why)
        {
            _say.Note(why);
            Udp = new UdpOutcome(EchoPort, message.Length, 0, false, Sim.Now - start);
            Surprises.Add(why);
        }
    }

    /// <summary>Lets virtual time run on to the next whole second, so that each part starts at a round time.</summary>
    private void NextSecond()
    {
        var next = new Instant((Sim.Now.Microseconds / 1_000_000 + 1) * 1_000_000);
        Sim.RunFor(next - Sim.Now);
    }

    private void Expect(bool condition, string surprise)
    {
        if (!condition)
        {
            Surprises.Add(surprise);
        }
    }
}
