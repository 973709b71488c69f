using System.Security.Cryptography;

namespace Wirestack.Interop.Tests.Support;

/// <summary>A temporary directory of random files, deleted at Dispose.</summary>
public sealed class TestFiles : IDisposable
{
    public TestFiles()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("wirestack-interop-").FullName;
    }

    public string Directory { get; }

    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>Writes <paramref name="bytes"/> random bytes to a file; returns its SHA-256 (hex).</summary>
    public string Random(string name, long bytes)
    {
        using var file = new FileStream(PathOf(name), FileMode.Create, FileAccess.Write);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 20];
        for (long left = bytes; left > 0; left -= buffer.Length)
        {
            int n = (int)Math.Min(buffer.Length, left);
            RandomNumberGenerator.Fill(buffer.AsSpan(0, n));
            file.Write(buffer, 0, n);
            hash.AppendData(buffer, 0, n);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public string Sha256(string name)
    {
        using var file = File.OpenRead(PathOf(name));
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    public long Length(string name) => new FileInfo(PathOf(name)).Length;

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
