using System.Globalization;
using Wirestack.AspNetCore;

namespace Wirestack.Cli.Scenarios;

internal sealed partial class DemoScript
{
    /// <summary>Size of the body the HTTPS part fetches.</summary>
    public const int HttpsBytes = 256 * 1024;

    /// <summary>Loss on each direction of the HTTPS part's wire.</summary>
    public const double HttpsLoss = 0.01;

    /// <summary>How long the HTTPS part may take in real time before the demo calls it a failure.</summary>
    public static readonly TimeSpan HttpsTimeLimit = TimeSpan.FromSeconds(60);

    /// <summary>What the HTTPS part saw (null when it failed before an answer came).</summary>
    public HttpDemoResult? Https { get; private set; }

    /// <summary>The seed's question, asked the way an ASP.NET Core application would: Kestrel on one Wirestack host,
    /// HttpClient on another, TLS 1.3 over a lossy wire. Unlike the rest of the demo this runs in real time (Kestrel
    /// and HttpClient live on the thread pool), on two fresh hosts driven by a <see cref="Stack.StackDriver"/>.</summary>
    public void RunHttps()
    {
        _say.Heading($"7. HTTPS: ASP.NET Core on a Wirestack host answers HttpClient on another, TLS 1.3, over a wire " +
            $"losing {Units.FormatProbability(HttpsLoss)} each way");
        _say.Note("Kestrel listens through Wirestack's transport (UseWirestack); HttpClient connects through");
        _say.Note("SocketsHttpHandler.ConnectCallback; SslStream does TLS on Wirestack's Stream. This part runs in real time on");
        _say.Note("two fresh hosts (client 10.0.0.1, server 10.0.0.2), so it is not in the pcap and its timing varies run to run.");
        using var limit = new CancellationTokenSource(HttpsTimeLimit);
        try
        {
            Https = HttpsDemo.RunHttpsDemoAsync(HttpsLoss, HttpsBytes, Seed, limit.Token).GetAwaiter().GetResult();
        }
        catch (Exception error) when (error is OperationCanceledException or HttpRequestException or IOException
            or System.Security.Authentication.AuthenticationException)
        {
            string why = limit.IsCancellationRequested
                ? $"https: no answer within {HttpsTimeLimit.TotalSeconds:0} s"
                : $"https: {error.GetType().Name}: {error.Message}";
            _say.Note(why);
            Surprises.Add(why);
            return;
        }

        _say.Line($"  GET https://{HttpsDemo.ServerName}/payload  →  HTTP/{Https.HttpVersion} {Https.StatusCode}, {Https.TlsProtocol}, " +
            $"{Units.FormatBytes(Https.BytesReceived)}");
        _say.Note(string.Create(CultureInfo.InvariantCulture,
            $"{Https.Elapsed.TotalMilliseconds:0} ms of real time for connect, handshake and body; the wire lost {Https.PacketsLost} packets " +
            $"and the stacks sent {Https.Retransmits} segments again."));
        _say.Note(Https.BodyVerified ? "The body is byte for byte what the endpoint served." : "The body DIFFERS from what the endpoint served.");
        Expect(Https.StatusCode == 200, $"https: status {Https.StatusCode}, expected 200");
        Expect(Https.TlsProtocol == System.Security.Authentication.SslProtocols.Tls13, $"https: negotiated {Https.TlsProtocol}, expected Tls13");
        Expect(Https.BodyVerified && Https.BytesReceived == HttpsBytes, "https: the body differs from what the endpoint served");
    }
}
