using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Wirestack.Links;
using Wirestack.Stack;

namespace Wirestack.AspNetCore;

/// <summary>The end-to-end demo: an ASP.NET Core minimal endpoint served by Kestrel on one Wirestack host, fetched
/// over HTTPS (TLS 1.3) by HttpClient on another, across an impaired in-memory wire, in real time.</summary>
public static class HttpsDemo
{
    /// <summary>The server's name in the demo (the client maps it to 10.0.0.2).</summary>
    public const string ServerName = "server.wirestack";

    /// <summary>Runs the demo on a <see cref="StackDriver"/>: two stacks joined by a <see cref="SimulatedWire"/> that
    /// loses <paramref name="loss"/> of the packets each way; GET https://server.wirestack/payload returns
    /// <paramref name="responseBytes"/> bytes.</summary>
    /// <param name="loss">Packet loss on each direction of the wire (0.01 = 1%).</param>
    /// <param name="responseBytes">Size of the response body.</param>
    /// <param name="seed">Seeds the stacks and the wire's impairments.</param>
    /// <param name="cancellationToken">Cancels the request (the caller's time limit).</param>
    public static async Task<HttpDemoResult> RunHttpsDemoAsync(double loss = 0.01, int responseBytes = 256 * 1024, int seed = 1,
        CancellationToken cancellationToken = default)
    {
        using var driver = new StackDriver(name: "https-demo");
        NetStack client = driver.CreateStack(new NetStackOptions { Name = "client", Seed = seed });
        NetStack server = driver.CreateStack(new NetStackOptions { Name = "server", Seed = seed + 1 });
        SimulatedWire wire = driver.Connect(client, "10.0.0.1/24", server, "10.0.0.2/24",
            new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1), Loss = loss }, seed: seed + 2);
        driver.Start();

        using X509Certificate2 certificate = WirestackCertificates.CreateSelfSigned(ServerName);
        byte[] payload = Payload(responseBytes, seed);
        await using WebApplication app = CreateServer(server, certificate, payload);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var http = new HttpClient(CreateClientHandler(client, certificate));
            var stopwatch = Stopwatch.StartNew();
            using HttpResponseMessage response = await http.GetAsync($"https://{ServerName}/payload", cancellationToken).ConfigureAwait(false);
            byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            stopwatch.Stop();
            SslProtocols protocol = response.Headers.TryGetValues("X-Tls-Protocol", out IEnumerable<string>? values) &&
                Enum.TryParse(values.FirstOrDefault(), out SslProtocols parsed) ? parsed : SslProtocols.None;
            long retransmits = client.Counters.Tcp.RetransSegs + server.Counters.Tcp.RetransSegs;
            return new HttpDemoResult((int)response.StatusCode, protocol, response.Version, body.Length, body.AsSpan().SequenceEqual(payload),
                stopwatch.Elapsed, wire.Counters.Lost, retransmits);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The demo's server: Kestrel on <paramref name="stack"/> port <paramref name="port"/>, HTTPS only, TLS 1.3
    /// only, with GET /payload (the bytes, and the negotiated TLS version in X-Tls-Protocol) and GET /hello.</summary>
    public static WebApplication CreateServer(NetStack stack, X509Certificate2 certificate, ReadOnlyMemory<byte> payload, int port = 443)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(certificate);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseWirestack(stack);
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Any, port, listen => listen.UseHttps(certificate, https => https.SslProtocols = SslProtocols.Tls13)));
        WebApplication app = builder.Build();
        app.MapGet("/hello", () => "hello over wirestack");
        app.MapGet("/payload", (HttpContext context) =>
        {
            SslProtocols protocol = context.Features.Get<ITlsHandshakeFeature>()?.Protocol ?? SslProtocols.None;
            context.Response.Headers["X-Tls-Protocol"] = protocol.ToString();
            return Results.Bytes(payload, "application/octet-stream");
        });
        return app;
    }

    /// <summary>An HttpClient handler on <paramref name="stack"/> that resolves <see cref="ServerName"/> to 10.0.0.2,
    /// speaks TLS 1.3 only and trusts exactly <paramref name="serverCertificate"/>.</summary>
    public static SocketsHttpHandler CreateClientHandler(NetStack stack, X509Certificate2 serverCertificate)
    {
        string thumbprint = serverCertificate.GetCertHashString();
        return WirestackHttpClient.CreateHandler(stack,
            new Dictionary<string, IPAddress> { [ServerName] = IPAddress.Parse("10.0.0.2") },
            new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == thumbprint,
            });
    }

    /// <summary>The body the demo serves: a seeded pseudo-random pattern.</summary>
    public static byte[] Payload(int length, int seed)
    {
        byte[] payload = new byte[length];
        new Random(seed).NextBytes(payload);
        return payload;
    }
}
