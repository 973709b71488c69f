using System.Buffers.Binary;

namespace Wirestack.Wire.Tests;

/// <summary>RFC 1071 (the sum), RFC 1624 (incremental update) and the RFC 9293 §3.1 / RFC 768 pseudo-header.</summary>
public sealed class InternetChecksumTests
{
    [Fact]
    [Trait("Rfc", "1071 §3")]
    public void Compute_Rfc1071NumericalExample_SumsToDdf2AndChecksumIs220d()
    {
        byte[] bytes = Vectors.Rfc1071Example;

        ushort checksum = InternetChecksum.Compute(bytes);

        Assert.Equal(0x220d, checksum);
        Assert.Equal(0xddf2, (ushort)~checksum);
        Assert.Equal(0xddf2, ScalarChecksum.Sum(bytes));
    }

    [Fact]
    [Trait("Rfc", "1071 §1")]
    public void Compute_DataFollowedByItsChecksum_VerifiesToZero()
    {
        byte[] bytes = [.. Vectors.Rfc1071Example, 0x22, 0x0d];

        Assert.Equal(0, InternetChecksum.Compute(bytes));
    }

    [Theory]
    [Trait("Rfc", "1071 §4.1")]
    [InlineData("01", 0xfeff)]
    [InlineData("12 34 56", 0x97cb)]
    [InlineData("ff ff ff", 0x00ff)]
    [InlineData("00 01 f2 03 f4 f5 f6 f7 e0", 0x420c)]
    public void Compute_OddLength_PadsLastByteWithZeroOnTheRight(string hex, int expected)
    {
        Assert.Equal(expected, InternetChecksum.Compute(Hex.Parse(hex)));
    }

    [Fact]
    public void Compute_Empty_IsAllOnes()
    {
        Assert.Equal(0xFFFF, InternetChecksum.Compute([]));
    }

    [Fact]
    public void Compute_EveryLengthTo300_MatchesScalarReference()
    {
        // Lengths 64 and up take the 256-bit vector path where the hardware has it; shorter ones and the tails take
        // the 8/4/2/1-byte paths. Offsets 0..7 check misaligned spans too.
        var random = new Random(1071);
        byte[] buffer = new byte[300 + 8];
        for (int round = 0; round < 4; round++)
        {
            random.NextBytes(buffer);
            for (int offset = 0; offset < 8; offset++)
            {
                for (int length = 0; length <= 300; length++)
                {
                    ReadOnlySpan<byte> data = buffer.AsSpan(offset, length);
                    Assert.True(ScalarChecksum.Checksum(data) == InternetChecksum.Compute(data), $"round {round}, offset {offset}, length {length}");
                }
            }
        }
    }

    [Theory]
    [InlineData(0xFF)]
    [InlineData(0x00)]
    [InlineData(0x80)]
    public void Compute_ConstantBuffersUpTo64KiB_MatchScalarReference(byte fill)
    {
        // All-ones data makes every add carry: the worst case for the deferred-carry accumulators.
        byte[] buffer = new byte[65536 + 3];
        Array.Fill(buffer, fill);
        foreach (int length in (int[])[63, 64, 65, 127, 128, 1500, 9000, 65535, 65536, 65539])
        {
            Assert.Equal(ScalarChecksum.Checksum(buffer.AsSpan(0, length)), InternetChecksum.Compute(buffer.AsSpan(0, length)));
        }
    }

    [Fact]
    public void Accumulate_InEvenChunks_EqualsOneShot()
    {
        var random = new Random(2024);
        for (int trial = 0; trial < 500; trial++)
        {
            byte[] data = new byte[random.Next(0, 3000)];
            random.NextBytes(data);
            ulong sum = 0;
            int at = 0;
            while (at < data.Length)
            {
                // Every chunk but the last has even length (the documented contract).
                int chunk = Math.Min(random.Next(0, 200) * 2, data.Length - at);
                if (chunk == 0 && data.Length - at == 1)
                {
                    chunk = 1;
                }

                sum = InternetChecksum.Accumulate(data.AsSpan(at, chunk), sum);
                at += chunk;
            }

            Assert.Equal(InternetChecksum.Compute(data), InternetChecksum.Finish(sum));
        }
    }

    [Fact]
    [Trait("Rfc", "1624 §4")]
    public void Update_Rfc1624Example_GivesZeroNotAllOnes()
    {
        // RFC 1624 §4: the other header words sum to 0xCD7A and m = 0x5555, so HC = 0xDD2F. Changing m to
        // 0x3285 must give HC' = 0x0000 (eqn. 3); RFC 1141's eqn. 2 gave the wrong 0xFFFF.
        Assert.Equal(0x0000, InternetChecksum.Update(0xDD2F, 0x5555, 0x3285));
    }

    [Fact]
    [Trait("Rfc", "1624 §3")]
    public void Update_RandomFieldChange_EqualsRecomputation()
    {
        var random = new Random(1624);
        for (int trial = 0; trial < 20_000; trial++)
        {
            byte[] data = new byte[random.Next(4, 40) * 2];
            random.NextBytes(data);
            const int checksumAt = 2;
            data[checksumAt] = 0;
            data[checksumAt + 1] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(checksumAt), InternetChecksum.Compute(data));

            int word = random.Next(0, data.Length / 2 - 1);
            int at = word * 2 >= checksumAt ? (word * 2) + 2 : word * 2;
            ushort oldValue = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(at));
            ushort newValue = trial % 4 == 0 ? (ushort)~oldValue : (ushort)random.Next(0, 65536);
            ushort updated = InternetChecksum.Update(BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(checksumAt)), oldValue, newValue);

            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(at), newValue);
            data[checksumAt] = 0;
            data[checksumAt + 1] = 0;
            Assert.Equal(InternetChecksum.Compute(data), updated);
        }
    }

    [Fact]
    [Trait("Rfc", "1624 §3")]
    public void DecrementTtl_RealHeader_PatchedChecksumEqualsRecomputation()
    {
        byte[] header = Vectors.IPv4HeaderExample;
        for (int hop = 0; hop < 64; hop++)
        {
            IPv4Packet.DecrementTtl(header);

            Assert.Equal(0, InternetChecksum.Compute(header));
            byte[] copy = [.. header];
            Packets.FixIPv4Checksum(copy);
            Assert.Equal(Hex.Format(copy), Hex.Format(header));
        }

        Assert.Equal(0, header[8]);
    }

    [Theory]
    [Trait("Rfc", "9293 §3.1")]
    [InlineData(IPProtocol.Tcp, 40, 0xfe30)]
    [InlineData(IPProtocol.Tcp, 48, 0xfe38)]
    [InlineData(IPProtocol.Udp, 12, 0xfe1f)]
    public void PseudoHeader_Loopback_MatchesLinuxPartialChecksum(byte protocol, int length, int kernelValue)
    {
        // On loopback Linux writes the folded (uncomplemented) pseudo-header sum into the checksum field; those are
        // the values captured in Vectors. Our pseudo-header sum must fold to the same value.
        ulong sum = InternetChecksum.PseudoHeader(Vectors.Loopback, Vectors.Loopback, protocol, length);

        Assert.Equal(kernelValue, (ushort)~InternetChecksum.Finish(sum));
    }

    [Fact]
    [Trait("Rfc", "768")]
    public void PseudoHeader_EqualsScalarSumOfTheTwelveBytes()
    {
        var random = new Random(768);
        for (int trial = 0; trial < 1000; trial++)
        {
            var source = new IPv4Address((uint)random.NextInt64(0, 1L << 32));
            var destination = new IPv4Address((uint)random.NextInt64(0, 1L << 32));
            byte protocol = (byte)random.Next(0, 256);
            int length = random.Next(0, 65536);
            byte[] pseudo = new byte[12];
            source.Write(pseudo);
            destination.Write(pseudo.AsSpan(4));
            pseudo[9] = protocol;
            BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)length);

            Assert.Equal(ScalarChecksum.Checksum(pseudo), InternetChecksum.Finish(InternetChecksum.PseudoHeader(source, destination, protocol, length)));
        }
    }
}
