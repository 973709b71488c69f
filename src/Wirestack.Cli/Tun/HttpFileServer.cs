// A small HTTP/1.1 file server for `wirestack tun serve --http/--https`: GET and HEAD of regular files under one
// directory, with Content-Length, keep-alive (HTTP/1.1 unless "Connection: close"; HTTP/1.0 only when asked) and
// nothing else. It runs over any Stream with blocking calls, on the connection's own thread, so the same code serves
// plain TCP (NetStream) and TLS (SslStream over it).
// Kestrel over Wirestack exists (Wirestack.AspNetCore), but a file server this size keeps the CLI free of the
// ASP.NET Core framework, and every byte on the wire is ours to explain.
using System.Globalization;
using System.Text;

namespace Wirestack.Cli.Tun;

/// <summary>Serves files from a directory over one connection (see the file comment).</summary>
internal sealed class HttpFileServer(string root, Action<string> log)
{
    private readonly string _root = Path.GetFullPath(root).TrimEnd('/') + "/";

    /// <summary>Answers requests until the client closes, asks to close, or sends something unparseable.
    /// Returns the number of body bytes sent.</summary>
    public long Serve(Stream stream, string peer)
    {
        var reader = new HttpReader(stream);
        long sent = 0;
        while (true)
        {
            List<string>? head = reader.ReadHead();
            if (head is null)
            {
                return sent;
            }

            string[] parts = head[0].Split(' ');
            if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
            {
                Respond(stream, 400, "Bad Request", null, close: true, head: false);
                log($"{peer}: bad request line '{head[0]}': 400");
                return sent;
            }

            string method = parts[0];
            string? connection = HttpReader.Field(head, "Connection");
            bool keepAlive = parts[2] == "HTTP/1.1"
                ? !string.Equals(connection, "close", StringComparison.OrdinalIgnoreCase)
                : string.Equals(connection, "keep-alive", StringComparison.OrdinalIgnoreCase);
            if (long.TryParse(HttpReader.Field(head, "Content-Length"), NumberStyles.None, CultureInfo.InvariantCulture, out long bodyLength) && bodyLength > 0)
            {
                Skip(reader, bodyLength);
            }

            if (method is not ("GET" or "HEAD"))
            {
                Respond(stream, 405, "Method Not Allowed", null, !keepAlive, head: false);
                log($"{peer}: {method} {parts[1]}: 405");
            }
            else if (Resolve(parts[1]) is not { } path)
            {
                Respond(stream, 404, "Not Found", null, !keepAlive, head: false);
                log($"{peer}: {method} {parts[1]}: 404");
            }
            else
            {
                using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                Respond(stream, 200, "OK", file.Length, !keepAlive, method == "HEAD");
                if (method == "GET")
                {
                    file.CopyTo(stream, 1 << 16);
                    sent += file.Length;
                }

                stream.Flush();
                log($"{peer}: {method} {parts[1]}: 200, {file.Length} bytes");
            }

            if (!keepAlive)
            {
                return sent;
            }
        }
    }

    /// <summary>The file a request target names, or null when it is not a regular file under the root.</summary>
    private string? Resolve(string target)
    {
        int query = target.IndexOfAny(['?', '#']);
        string path = Uri.UnescapeDataString(query >= 0 ? target[..query] : target);
        if (!path.StartsWith('/') || path.Contains('\0'))
        {
            return null;
        }

        string full = Path.GetFullPath(Path.Combine(_root, path.TrimStart('/')));
        return full.StartsWith(_root, StringComparison.Ordinal) && File.Exists(full) ? full : null;
    }

    private static void Respond(Stream stream, int status, string reason, long? length, bool close, bool head)
    {
        string body = length is null ? $"{status} {reason}\n" : "";
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {reason}\r\n")
            .Append("Server: wirestack\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Length: {length ?? body.Length}\r\n")
            .Append(length is null ? "Content-Type: text/plain\r\n" : "Content-Type: application/octet-stream\r\n")
            .Append(close ? "Connection: close\r\n" : "Connection: keep-alive\r\n")
            .Append("\r\n");
        if (!head)
        {
            text.Append(body);
        }

        stream.Write(Encoding.ASCII.GetBytes(text.ToString()));
    }

    private static void Skip(HttpReader reader, long length)
    {
        byte[] buffer = new byte[16384];
        while (length > 0)
        {
            int n = reader.Read(buffer.AsSpan(0, (int)Math.Min(buffer.Length, length)));
            if (n == 0)
            {
                throw new EndOfStreamException("the connection ended inside a request body");
            }

            length -= n;
        }
    }
}
