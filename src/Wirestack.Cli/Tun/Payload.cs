using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Wirestack.Cli.Tun;

/// <summary>
/// The bytes the tun commands send (--source, --send): a stream that never repeats, the same for the same seed, any
/// part of which can be made on its own (8-byte word i is SplitMix64 of seed and i), so a sender fills its buffers
/// as it goes instead of holding the whole payload.
/// </summary>
internal sealed class Payload
{
    public Payload(long length, int seed)
    {
        Length = length;
        Seed = seed;
    }

    public long Length { get; }

    public int Seed { get; }

    /// <summary>Fills <paramref name="destination"/> with the bytes at <paramref name="offset"/> (a multiple of 8).</summary>
    public void Fill(Span<byte> destination, long offset)
    {
        if ((offset & 7) != 0)
        {
            throw new ArgumentException("offset must be a multiple of 8", nameof(offset));
        }

        ulong word = (ulong)(offset >> 3);
        ulong key = (ulong)Seed * 0x9E3779B97F4A7C15UL;
        int i = 0;
        for (; i + 8 <= destination.Length; i += 8, word++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination[i..], Mix(key + word));
        }

        if (i < destination.Length)
        {
            Span<byte> last = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(last, Mix(key + word));
            last[..(destination.Length - i)].CopyTo(destination[i..]);
        }
    }

    /// <summary>SHA-256 of the whole payload.</summary>
    public byte[] Sha256()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 16];
        for (long offset = 0; offset < Length; offset += buffer.Length)
        {
            int n = (int)Math.Min(buffer.Length, Length - offset);
            Fill(buffer.AsSpan(0, n), offset);
            hash.AppendData(buffer, 0, n);
        }

        return hash.GetHashAndReset();
    }

    /// <summary>Writes the whole payload to <paramref name="stream"/> in chunks of <paramref name="chunk"/> bytes.</summary>
    public async Task WriteToAsync(Stream stream, int chunk, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[chunk];
        for (long offset = 0; offset < Length; offset += chunk)
        {
            int n = (int)Math.Min(chunk, Length - offset);
            Fill(buffer.AsSpan(0, n), offset);
            await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The same, with blocking writes.</summary>
    public void WriteTo(Stream stream, int chunk)
    {
        byte[] buffer = new byte[chunk];
        for (long offset = 0; offset < Length; offset += chunk)
        {
            int n = (int)Math.Min(chunk, Length - offset);
            Fill(buffer.AsSpan(0, n), offset);
            stream.Write(buffer, 0, n);
        }
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
