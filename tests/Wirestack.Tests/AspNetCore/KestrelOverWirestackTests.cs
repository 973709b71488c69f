using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Wirestack.AspNetCore;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Stack;
using Xunit.Abstractions;

using Wirestack.Tests.Support;

namespace Wirestack.Tests.AspNetCore;

/// <summary>
/// An ASP.NET Core minimal endpoint served by Kestrel over Wirestack (custom IConnectionListenerFactory) and fetched
/// by HttpClient over Wirestack (SocketsHttpHandler.ConnectCallback returning a NetStream), over HTTPS with TLS 1.3,
/// across a wire that loses 1% of the packets each way. Kestrel and HttpClient run on the thread pool and Kestrel
/// keeps its own heartbeat on the system clock, so each test bounds its waits in real time and asserts only
/// outcomes, never timings.
/// </summary>
[Collection("RealTime")]
public sealed class KestrelOverWirestackTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(60);

    /// <summary>(b) Real time: both stacks and the wire on a StackDriver; this is the CLI demo's function.</summary>
    [Fact]
    public async Task HttpsDemo_OverRealTimeDriver_Tls13ResponseIntactAcrossLossyWire()
    {
        using var cancel = new CancellationTokenSource(s_bound);
        HttpDemoResult result = await HttpsDemo.RunHttpsDemoAsync(loss: 0.01, responseBytes: 512 * 1024, seed: 7, cancel.Token);
        output.WriteLine(result.ToString());
        Assert.Equal(200, result.StatusCode);
        Assert.Equal(SslProtocols.Tls13, result.TlsProtocol);
        Assert.Equal(512 * 1024, result.BytesReceived);
        Assert.True(result.BodyVerified);
    }

    /// <summary>
    /// (a) Simulation: a Concurrent simulator driven by a BackgroundSimulation thread while the test awaits. Virtual
    /// time still jumps from event to event (a lost segment's retransmission timeout costs no real time), the
    /// wire's losses are drawn from the seed, and socket completions run on the simulator's thread; what is not
    /// deterministic is when thread-pool code (Kestrel, HttpClient) sends relative to the simulator's steps, so the
    /// test asserts the outcome, not a capture. Kestrel's heartbeat and HttpClient's pool timers use the system
    /// clock and never see virtual time; nothing here waits on them.
    /// </summary>
    [Fact]
    public async Task Kestrel_InSimulationDrivenFromBackgroundLoop_HttpsMinimalEndpointAnswersHttpClient()
    {
        using var sim = new Simulator(17) { Concurrent = true };
        NetStack client = sim.AddHost("client");
        NetStack server = sim.AddHost("server");
        SimulatedWire wire = sim.Connect(client, "10.0.0.1/24", server, "10.0.0.2/24",
            new LinkImpairments { Delay = TimeSpan.FromMilliseconds(5), Loss = 0.01 });
        using var background = new BackgroundSimulation(sim);
        using X509Certificate2 certificate = WirestackCertificates.CreateSelfSigned(HttpsDemo.ServerName);
        byte[] payload = HttpsDemo.Payload(300_000, 17);
        await using WebApplication app = HttpsDemo.CreateServer(server, certificate, payload);
        await app.StartAsync().WaitAsync(s_bound);
        try
        {
            using var http = new HttpClient(HttpsDemo.CreateClientHandler(client, certificate)) { Timeout = s_bound };
            string hello = await http.GetStringAsync($"https://{HttpsDemo.ServerName}/hello").WaitAsync(s_bound);
            Assert.Equal("hello over wirestack", hello);

            using HttpResponseMessage response = await http.GetAsync($"https://{HttpsDemo.ServerName}/payload").WaitAsync(s_bound);
            byte[] body = await response.Content.ReadAsByteArrayAsync().WaitAsync(s_bound);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(nameof(SslProtocols.Tls13), Assert.Single(response.Headers.GetValues("X-Tls-Protocol")));
            Assert.Equal(payload, body);
            output.WriteLine($"virtual time {sim.Now}, {wire.Counters.Delivered} packets delivered, {wire.Counters.Lost} lost, " +
                $"{client.Counters.Tcp.RetransSegs + server.Counters.Tcp.RetransSegs} retransmitted");
        }
        finally
        {
            await app.StopAsync().WaitAsync(s_bound);
        }

        background.ThrowIfFaulted();
    }
}
