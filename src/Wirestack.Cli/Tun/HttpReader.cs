using System.Text;

namespace Wirestack.Cli.Tun;

/// <summary>
/// Reads HTTP/1.x from a stream (blocking calls): a head (request or status line and header fields, up to the empty line) and then
/// body bytes, serving first what was read past the head. Enough HTTP for a file server and a GET client; heads
/// are limited to 64 KiB.
/// </summary>
internal sealed class HttpReader(Stream stream)
{
    private const int HeadLimit = 64 * 1024;
    private readonly byte[] _buffer = new byte[HeadLimit];
    private int _start;
    private int _end;

    /// <summary>The next head's lines (without the empty line), or null at a clean end of stream.</summary>
    public List<string>? ReadHead()
    {
        while (true)
        {
            int at = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
            if (at >= 0)
            {
                string head = Encoding.Latin1.GetString(_buffer, _start, at);
                _start += at + 4;
                return [.. head.Split("\r\n")];
            }

            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                throw new InvalidDataException($"HTTP head longer than {HeadLimit / 1024} KiB");
            }

            int n = stream.Read(_buffer.AsSpan(_end));
            if (n == 0)
            {
                return _end == 0 ? null : throw new EndOfStreamException($"the connection ended inside an HTTP head ({_end} bytes)");
            }

            _end += n;
        }
    }

    /// <summary>Body bytes: what is buffered first, then the stream. 0 at the end of the stream.</summary>
    public int Read(Span<byte> destination)
    {
        if (_end > _start)
        {
            int n = Math.Min(destination.Length, _end - _start);
            _buffer.AsSpan(_start, n).CopyTo(destination);
            _start += n;
            return n;
        }

        return stream.Read(destination);
    }

    /// <summary>One CRLF-terminated line (chunk sizes), without the CRLF.</summary>
    public string ReadLine()
    {
        var line = new StringBuilder();
        Span<byte> one = stackalloc byte[1];
        while (true)
        {
            if (Read(one) == 0)
            {
                throw new EndOfStreamException("the connection ended inside a chunked body");
            }

            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)one[0]);
        }
    }

    /// <summary>A header field's value (case-insensitive name), or null.</summary>
    public static string? Field(List<string> head, string name)
    {
        foreach (string line in head.Skip(1))
        {
            int colon = line.IndexOf(':');
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return null;
    }
}
