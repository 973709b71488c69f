using Wirestack.Tcp;

namespace Wirestack.Tests.Tcp;

public class SipHashTests
{
    /// <summary>The reference vectors of the SipHash paper (appendix A and the authors' vectors.h): key 00 01 … 0f,
    /// message 00 01 … (n-1).</summary>
    [Theory]
    [InlineData(0, 0x726fdb47dd0e0e31UL)]
    [InlineData(1, 0x74f839c593dc67fdUL)]
    [InlineData(8, 0x93f5f5799a932462UL)]
    [InlineData(15, 0xa129ca6149be45e5UL)]
    public void Matches_the_reference_vectors(int length, ulong expected)
    {
        byte[] key = new byte[16];
        for (int i = 0; i < key.Length; i++)
        {
            key[i] = (byte)i;
        }

        byte[] message = new byte[length];
        for (int i = 0; i < message.Length; i++)
        {
            message[i] = (byte)i;
        }

        Assert.Equal(expected, SipHash.FromSecret(key).Compute(message));
    }

    [Fact]
    public void Every_byte_of_a_longer_secret_counts()
    {
        byte[] a = new byte[32];
        byte[] b = new byte[32];
        b[31] = 1;
        byte[] message = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        Assert.NotEqual(SipHash.FromSecret(a).Compute(message), SipHash.FromSecret(b).Compute(message));
    }

    [Fact]
    public void Short_secrets_are_rejected() => Assert.Throws<ArgumentException>(() => SipHash.FromSecret(new byte[15]));
}
