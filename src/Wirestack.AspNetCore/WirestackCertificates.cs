using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Wirestack.AspNetCore;

/// <summary>Self-signed server certificates for demos and tests.</summary>
public static class WirestackCertificates
{
    /// <summary>An ECDSA P-256 self-signed serverAuth certificate for <paramref name="dnsName"/>, valid for a week.
    /// It is exported to PKCS#12 and imported again: on Linux the key CreateSelfSigned attaches is ephemeral and
    /// SslStream (OpenSSL) cannot use it as a server key.</summary>
    public static X509Certificate2 CreateSelfSigned(string dnsName)
    {
        ArgumentException.ThrowIfNullOrEmpty(dnsName);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(dnsName);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 ephemeral = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(7));
        byte[] pfx = ephemeral.Export(X509ContentType.Pfx, "wirestack");
        return X509CertificateLoader.LoadPkcs12(pfx, "wirestack", X509KeyStorageFlags.Exportable);
    }
}
