using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Wirestack.Tests.Support;

/// <summary>Self-signed ECDSA P-256 server certificates made in the test, never read from disk.</summary>
internal static class TestCertificates
{
    /// <summary>A certificate for <paramref name="dnsName"/> with its private key usable by SslStream: on Linux the
    /// key of CreateSelfSigned is ephemeral, so the certificate goes out to PKCS#12 and back in.</summary>
    public static X509Certificate2 CreateServerCertificate(string dnsName = "localhost")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(dnsName);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // serverAuth
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 ephemeral = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(7));
        byte[] pfx = ephemeral.Export(X509ContentType.Pfx, "wirestack");
        return X509CertificateLoader.LoadPkcs12(pfx, "wirestack", X509KeyStorageFlags.Exportable);
    }
}
