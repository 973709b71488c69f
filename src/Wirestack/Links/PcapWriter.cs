using System.Buffers.Binary;
using Wirestack.Time;

namespace Wirestack.Links;

/// <summary>
/// Writes a classic libpcap capture file with nanosecond timestamps (magic <c>0xa1b23c4d</c>, version 2.4), readable
/// by tcpdump, tshark and Wireshark. Fields are written little-endian; readers detect the byte order from the magic.
/// Link type <c>LINKTYPE_RAW</c> (101) for an IP medium, <c>LINKTYPE_ETHERNET</c> (1) for Ethernet.
/// Each record is assembled in a reusable scratch buffer and written with one <see cref="Stream.Write(byte[], int, int)"/>;
/// nothing is allocated per packet once the scratch buffer has grown to the largest packet seen.
/// </summary>
/// <remarks>Format: draft-ietf-opsawg-pcap, §4 (file header) and §5 (packet record).</remarks>
public sealed class PcapWriter : IDisposable
{
    /// <summary>The file magic that announces nanosecond timestamps.</summary>
    public const uint NanosecondMagic = 0xa1b23c4d;

    public const ushort VersionMajor = 2;

    public const ushort VersionMinor = 4;

    /// <summary><c>LINKTYPE_ETHERNET</c>: IEEE 802.3 frames.</summary>
    public const uint LinkTypeEthernet = 1;

    /// <summary><c>LINKTYPE_RAW</c>: bare IPv4 or IPv6 packets, told apart by the version nibble.</summary>
    public const uint LinkTypeRaw = 101;

    public const int DefaultSnapLength = 262144;

    public const int FileHeaderLength = 24;

    public const int RecordHeaderLength = 16;

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private byte[] _scratch = new byte[RecordHeaderLength + 2048];
    private bool _disposed;

    /// <summary>Writes the file header to <paramref name="output"/> at once.</summary>
    /// <param name="output">Where the capture goes; must be writable.</param>
    /// <param name="medium">Chooses the link type.</param>
    /// <param name="snapLength">Most bytes kept of each packet (longer ones are cut, with their original length
    /// recorded). Defaults to 262144, tcpdump's default.</param>
    /// <param name="leaveOpen">Whether <see cref="Dispose"/> leaves <paramref name="output"/> open. Defaults to true:
    /// the writer does not close a stream it was given unless told to.</param>
    public PcapWriter(Stream output, LinkMedium medium, int snapLength = DefaultSnapLength, bool leaveOpen = true)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(snapLength);
        if (!output.CanWrite)
        {
            throw new ArgumentException("the pcap output stream is not writable", nameof(output));
        }

        _output = output;
        _leaveOpen = leaveOpen;
        Medium = medium;
        SnapLength = snapLength;
        LinkType = medium switch
        {
            LinkMedium.Ip => LinkTypeRaw,
            LinkMedium.Ethernet => LinkTypeEthernet,
            _ => throw new ArgumentOutOfRangeException(nameof(medium), medium, "unknown link medium"),
        };

        Span<byte> header = _scratch.AsSpan(0, FileHeaderLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header, NanosecondMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], VersionMajor);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], VersionMinor);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], 0);    // thiszone: timestamps are UTC-like, no correction
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0);  // sigfigs: always 0
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], LinkType);
        _output.Write(_scratch, 0, FileHeaderLength);
    }

    public LinkMedium Medium { get; }

    public uint LinkType { get; }

    public int SnapLength { get; }

    /// <summary>Records written so far.</summary>
    public long RecordCount { get; private set; }

    /// <summary>Appends one packet record. <paramref name="timestamp"/> is written as seconds and nanoseconds
    /// (microseconds × 1000) since the clock's origin; an instant before the origin wraps as an unsigned 32-bit
    /// second count would.</summary>
    public void Write(ReadOnlySpan<byte> packet, Instant timestamp)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int included = Math.Min(packet.Length, SnapLength);
        if (_scratch.Length < RecordHeaderLength + included)
        {
            _scratch = new byte[Math.Max(RecordHeaderLength + included, _scratch.Length * 2)];
        }

        long seconds = Math.DivRem(timestamp.Microseconds, 1_000_000, out long microseconds);
        if (microseconds < 0)
        {
            seconds--;
            microseconds += 1_000_000;
        }

        Span<byte> record = _scratch.AsSpan(0, RecordHeaderLength + included);
        BinaryPrimitives.WriteUInt32LittleEndian(record, unchecked((uint)seconds));
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(microseconds * 1000));
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)included);
        BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)packet.Length);
        packet[..included].CopyTo(record[RecordHeaderLength..]);
        _output.Write(_scratch, 0, record.Length);
        RecordCount++;
    }

    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _output.Flush();
    }

    /// <summary>Flushes, and closes the stream only when the writer was told it may (<c>leaveOpen: false</c>).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _output.Flush();
        if (!_leaveOpen)
        {
            _output.Dispose();
        }
    }
}
