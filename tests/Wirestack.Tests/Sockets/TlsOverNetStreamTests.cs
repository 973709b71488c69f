using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Wirestack.Links;
using Wirestack.Sockets;
using Wirestack.Tests.Support;

namespace Wirestack.Tests.Sockets;

/// <summary>SslStream over NetStream between two simulated hosts: a real TLS 1.3 handshake and transfer over a lossy
/// wire, in virtual time, on the simulator's context.</summary>
public sealed class TlsOverNetStreamTests
{
    [Fact]
    public void SslStream_Tls13HandshakeAndTransfer_OverLossyWire()
    {
        using X509Certificate2 certificate = TestCertificates.CreateServerCertificate("server.test");
        var impairments = new LinkImpairments { Delay = TimeSpan.FromMilliseconds(10), Loss = 0.01 };
        var (sim, client, server) = Net.TwoHosts(501, impairments);
        using var listener = new NetSocket(server, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 443));
        listener.Listen(4);
        byte[] request = new byte[300_000];
        byte[] response = new byte[200_000];
        new Random(501).NextBytes(request);
        new Random(502).NextBytes(response);

        sim.Run(async () =>
        {
            Task<byte[]> serving = ServeAsync(listener, certificate, response);
            var socket = new NetSocket(client, SocketType.Stream);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 443));
            await using var tls = new SslStream(new NetStream(socket, ownsSocket: true));
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "server.test",
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, presented, _, _) =>
                    presented is not null && presented.GetCertHashString() == certificate.GetCertHashString(),
            });
            Assert.Equal(SslProtocols.Tls13, tls.SslProtocol);
            Assert.True(tls.IsAuthenticated && tls.IsEncrypted);

            await tls.WriteAsync(BitConverter.GetBytes(request.Length));
            await tls.WriteAsync(request);
            byte[] received = await ReadExactlyAsync(tls, response.Length);
            Assert.Equal(SHA256.HashData(response), SHA256.HashData(received));
            Assert.Equal(SHA256.HashData(request), SHA256.HashData(await serving));
            await tls.ShutdownAsync();
        }, TimeSpan.FromSeconds(600));

        Assert.True(sim.Wires[0].Counters.Lost > 0, "the wire lost nothing: the test did not exercise retransmission");
    }

    private static async Task<byte[]> ServeAsync(NetSocket listener, X509Certificate2 certificate, byte[] response)
    {
        NetSocket socket = await listener.AcceptAsync();
        await using var tls = new SslStream(new NetStream(socket, ownsSocket: true));
        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            EnabledSslProtocols = SslProtocols.Tls13,
        });
        int length = BitConverter.ToInt32(await ReadExactlyAsync(tls, 4));
        byte[] request = await ReadExactlyAsync(tls, length);
        await tls.WriteAsync(response);
        return request;
    }

    private static async Task<byte[]> ReadExactlyAsync(Stream stream, int length)
    {
        byte[] buffer = new byte[length];
        await stream.ReadExactlyAsync(buffer);
        return buffer;
    }
}
