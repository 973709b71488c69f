using System.Security.Authentication;

namespace Wirestack.AspNetCore;

/// <summary>What <see cref="HttpsDemo.RunHttpsDemoAsync"/> saw.</summary>
/// <param name="StatusCode">The HTTP status of the response.</param>
/// <param name="TlsProtocol">The TLS version the server negotiated (ITlsHandshakeFeature).</param>
/// <param name="HttpVersion">The HTTP version of the response.</param>
/// <param name="BytesReceived">Response body bytes the client read.</param>
/// <param name="BodyVerified">Whether the body matched, byte for byte, what the endpoint sent.</param>
/// <param name="Elapsed">Wall-clock time of the request (connect, TLS handshake, transfer).</param>
/// <param name="PacketsLost">Packets the impaired wire dropped, both directions.</param>
/// <param name="Retransmits">TCP segments retransmitted, both stacks (RetransSegs).</param>
public sealed record HttpDemoResult(int StatusCode, SslProtocols TlsProtocol, Version HttpVersion, long BytesReceived, bool BodyVerified,
    TimeSpan Elapsed, long PacketsLost, long Retransmits);
