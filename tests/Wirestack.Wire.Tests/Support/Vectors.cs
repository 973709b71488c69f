namespace Wirestack.Wire.Tests;

/// <summary>
/// Byte vectors from RFCs and from real traffic. The loopback captures were taken from a Linux kernel with an
/// AF_PACKET socket on <c>lo</c> (127.0.0.1 to 127.0.0.1). On loopback Linux leaves TCP and UDP checksums
/// "partial" (CHECKSUM_PARTIAL: the field holds only the folded pseudo-header sum, 0xfe30 for the SYN), so the
/// full checksum was computed separately with an independent script and is written next to each vector.
/// IP header and ICMP checksums are as captured (the kernel computes them in full).
/// </summary>
internal static class Vectors
{
    /// <summary>RFC 1071 §3, numerical example: the words sum to 0xddf2, so the checksum is 0x220d.</summary>
    public static byte[] Rfc1071Example => Hex.Parse("00 01 f2 03 f4 f5 f6 f7");

    /// <summary>A widely reproduced IPv4 header (UDP, 192.168.0.1 to 192.168.0.199, total length 115, DF, TTL 64)
    /// with its checksum 0xb861, hand-checked.</summary>
    public static byte[] IPv4HeaderExample => Hex.Parse("45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7");

    /// <summary>Linux SYN, 127.0.0.1:53966 to 127.0.0.1:45678: MSS 65495, SACK_PERM, TS val 2063645359 ecr 0,
    /// NOP, WS 10. TCP checksum as captured (partial) was fe30; the full checksum is c79c.</summary>
    public static byte[] LinuxSyn => Hex.Parse(
        "45 00 00 3c ef 23 40 00 40 06 4d 96 7f 00 00 01 7f 00 00 01" +
        "d2 ce b2 6e fe 52 cf 21 00 00 00 00 a0 02 ff d7 c7 9c 00 00" +
        "02 04 ff d7 04 02 08 0a 7b 00 ba af 00 00 00 00 01 03 03 0a");

    /// <summary>The same SYN exactly as captured on loopback, with the partial checksum 0xfe30 (not valid on the wire).</summary>
    public static byte[] LinuxSynPartialChecksum
    {
        get
        {
            byte[] bytes = LinuxSyn;
            bytes[36] = 0xfe;
            bytes[37] = 0x30;
            return bytes;
        }
    }

    /// <summary>Linux data segment on the same connection: PSH|ACK, NOP NOP TS, 16 bytes "hello wirestack\n".
    /// Partial checksum captured fe38; full checksum 00b7.</summary>
    public static byte[] LinuxData => Hex.Parse(
        "45 00 00 44 ef 25 40 00 40 06 4d 8c 7f 00 00 01 7f 00 00 01" +
        "d2 ce b2 6e fe 52 cf 22 37 f7 00 e8 80 18 00 40 00 b7 00 00" +
        "01 01 08 0a 7b 00 ba b0 d1 a8 77 1c" +
        "68 65 6c 6c 6f 20 77 69 72 65 73 74 61 63 6b 0a");

    /// <summary>Linux UDP datagram 127.0.0.1:40000 to 127.0.0.1:5353 carrying "wire". Partial checksum captured
    /// fe1f; full checksum 66db.</summary>
    public static byte[] LinuxUdp => Hex.Parse(
        "45 00 00 20 d2 d4 40 00 40 11 69 f6 7f 00 00 01 7f 00 00 01" +
        "9c 40 14 e9 00 0c 66 db 77 69 72 65");

    /// <summary>The ICMP port unreachable (type 3, code 3) Linux sent back for that datagram, exactly as captured
    /// (TOS 0xc0; the quoted UDP header still carries the partial checksum fe1f).</summary>
    public static byte[] LinuxPortUnreachable => Hex.Parse(
        "45 c0 00 3c e3 a2 00 00 40 01 98 5c 7f 00 00 01 7f 00 00 01" +
        "03 03 63 d8 00 00 00 00" +
        "45 00 00 20 d2 d4 40 00 40 11 69 f6 7f 00 00 01 7f 00 00 01 9c 40 14 e9 00 0c fe 1f 77 69 72 65");

    /// <summary>RFC 826 layout, hand-assembled: 02:00:00:00:00:01 (10.0.0.1) asks who has 10.0.0.2.</summary>
    public static byte[] ArpRequest => Hex.Parse(
        "00 01 08 00 06 04 00 01 02 00 00 00 00 01 0a 00 00 01 00 00 00 00 00 00 0a 00 00 02");

    /// <summary>That request broadcast in a minimum-size (60-byte, FCS excluded) Ethernet frame with zero padding.</summary>
    public static byte[] ArpRequestFrame
    {
        get
        {
            byte[] frame = new byte[60];
            Hex.Parse("ff ff ff ff ff ff 02 00 00 00 00 01 08 06").CopyTo(frame, 0);
            ArpRequest.CopyTo(frame, 14);
            return frame;
        }
    }

    public static readonly IPv4Address Loopback = new(127, 0, 0, 1);
}
