// `wirestack tun connect`: a Wirestack TCP client on a TUN device, for kernel servers (ncat -l, python3 -m
// http.server, openssl s_server). --send pushes a seeded payload, half-closes and reads whatever comes back until the
// server closes (so it works against a sink and an echo alike); --get fetches one path over HTTP/1.1, or over TLS
// with --tls. Both print byte counts and SHA-256 (or one JSON object with --json). Blocking calls by default;
// --async sends and receives with the async surface (WriteAsync/ReadAsync) instead.
using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Wirestack.Cli.Output;
using Wirestack.Sockets;
using Wirestack.Wire;

namespace Wirestack.Cli.Tun;

internal sealed record ConnectSettings(TunSettings Tun, IPv4Address To, ushort Port, long? SendBytes, string? GetPath, bool Tls,
    bool Insecure, string? OutputFile, TimeSpan Timeout, bool Json, bool Async);

internal static class TunConnect
{
    public static async Task<int> RunAsync(TextWriter stdout, TextWriter stderr, ConnectSettings settings)
    {
        using TunHost host = TunHost.Start(settings.Tun);
        TextWriter human = settings.Json ? TextWriter.Null : stdout;
        var result = new JsonObject { ["to"] = $"{settings.To}:{settings.Port}", ["device"] = host.Device.Name, ["mtu"] = host.Device.Mtu };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(host.Stopping);
        deadline.CancelAfter(settings.Timeout);
        int exit = ExitCodes.Failure;
        var clock = Stopwatch.StartNew();
        string? error = null;
        try
        {
            // SO_SNDTIMEO/SO_RCVTIMEO bound every blocking call (closing the socket does not end a blocked send).
            var socket = new NetSocket(host.Stack, SocketType.Stream) { SendTimeout = settings.Timeout, ReceiveTimeout = settings.Timeout };
            try
            {
                await socket.ConnectAsync(settings.To, settings.Port, deadline.Token).ConfigureAwait(false);
            }
            catch
            {
                socket.Close();
                throw;
            }

            double connectMs = clock.Elapsed.TotalMilliseconds;
            result["from"] = socket.LocalEndPoint?.ToString();
            result["connect_ms"] = Math.Round(connectMs, 3);
            human.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"connected to {settings.To}:{settings.Port} from {socket.LocalEndPoint} in {connectMs:0.###} ms; {host.Describe()}"));
            await using var stream = new NetStream(socket, ownsSocket: true);
            clock.Restart();
            using CancellationTokenRegistration closeOnTimeout = deadline.Token.Register(socket.Close); // ends blocked calls
            exit = settings.SendBytes is { } bytes
                ? await SendAsync(stream, bytes, settings, result, human, () => host.Linger(settings.Timeout), deadline.Token).ConfigureAwait(false)
                : Get(stream, settings, result, human);
            await stream.DisposeAsync().ConfigureAwait(false);
            host.Linger(TimeSpan.FromSeconds(5)); // the FIN out and acknowledged before the stack goes away
        }
        catch (Exception ex) when (deadline.IsCancellationRequested && ex is OperationCanceledException or ObjectDisposedException or IOException or SocketException)
        {
            error = host.Stopping.IsCancellationRequested
                ? $"stopped by {host.Signal?.ToString() ?? "the device failing"} after {clock.Elapsed.TotalSeconds:0.###} s"
                : $"timed out after {settings.Timeout.TotalSeconds:0.###} s (--timeout)";
        }
        catch (Exception ex) when (ex is SocketException or IOException or AuthenticationException or InvalidDataException or ObjectDisposedException)
        {
            error = Explain(ex);
        }

        if (error is not null)
        {
            result["error"] = error;
            stderr.WriteLine($"wirestack tun connect: {settings.To}:{settings.Port}: {error}");
        }

        result["ok"] = exit == ExitCodes.Success;
        if (settings.Json)
        {
            if (settings.Tun.Stats)
            {
                result["stats"] = host.StatsJson();
            }

            JsonOutput.Write(stdout, result);
        }
        else if (settings.Tun.Stats)
        {
            host.PrintStats(stdout);
        }

        TunServe.ReportCapture(settings.Json ? stderr : stdout, host);
        return exit;
    }

    /// <summary>Sends the payload, half-closes, reads to the server's end of stream, closes, and waits until
    /// everything (FIN included) is acknowledged: the time to that is the transfer time.</summary>
    private static async Task<int> SendAsync(NetStream stream, long bytes, ConnectSettings settings, JsonObject result, TextWriter human,
        Func<bool> linger, CancellationToken cancellationToken)
    {
        var payload = new Payload(bytes, settings.Tun.Seed ?? 1);
        var clock = Stopwatch.StartNew();
        double sentAt;
        long received;
        byte[] receivedSha;
        if (settings.Async)
        {
            Task<(long Bytes, byte[] Sha256)> reading = TunServe.DrainAsync(stream, cancellationToken);
            await payload.WriteToAsync(stream, 1 << 16, cancellationToken).ConfigureAwait(false);
            stream.Socket.Shutdown(SocketShutdown.Send);
            sentAt = clock.Elapsed.TotalSeconds;
            (received, receivedSha) = await reading.ConfigureAwait(false);
        }
        else
        {
            // Blocking calls: the writes on this thread, the reads on another (the server may answer as it reads).
            (long Bytes, byte[] Sha256) drained = (0, []);
            Exception? readError = null;
            var reader = new Thread(() =>
            {
                try
                {
                    drained = TunServe.Drain(stream);
                }
                catch (Exception ex)
                {
                    readError = ex;
                }
            }) { IsBackground = true, Name = "connect-read" };
            reader.Start();
            payload.WriteTo(stream, 1 << 16);
            stream.Socket.Shutdown(SocketShutdown.Send);
            sentAt = clock.Elapsed.TotalSeconds;
            reader.Join();
            if (readError is not null)
            {
                throw readError;
            }

            (received, receivedSha) = drained;
        }

        await stream.DisposeAsync().ConfigureAwait(false);
        if (!linger())
        {
            throw new IOException($"the data sent was not all acknowledged within {settings.Timeout.TotalSeconds:0.###} s");
        }

        double seconds = clock.Elapsed.TotalSeconds;
        string sentSha = Convert.ToHexStringLower(payload.Sha256());
        result["bytes_sent"] = bytes;
        result["sha256_sent"] = sentSha;
        result["bytes_received"] = received;
        result["sha256_received"] = Convert.ToHexStringLower(receivedSha);
        result["seconds"] = Math.Round(seconds, 6);
        result["send_seconds"] = Math.Round(sentAt, 6);
        result["throughput_bits_per_second"] = Math.Round(bytes * 8 / Math.Max(seconds, 1e-9));
        human.WriteLine($"sent     {Units.FormatBytes(bytes)}, sha256 {sentSha}");
        human.WriteLine($"received {Units.FormatBytes(received)}, sha256 {Convert.ToHexStringLower(receivedSha)}");
        human.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"time     {seconds:0.000} s until all was acknowledged and the server had closed ({Units.FormatRate(bytes * 8 / Math.Max(seconds, 1e-9))})"));
        return ExitCodes.Success;
    }

    private static int Get(NetStream stream, ConnectSettings settings, JsonObject result, TextWriter human)
    {
        Stream channel = stream;
        SslStream? tls = null;
        if (settings.Tls)
        {
            tls = new SslStream(stream, leaveInnerStreamOpen: true);
            var options = new SslClientAuthenticationOptions { TargetHost = settings.To.ToString() };
            if (settings.Insecure)
            {
                options.RemoteCertificateValidationCallback = (_, _, _, _) => true; // like curl -k
            }

            tls.AuthenticateAsClient(options);
            result["tls"] = $"{tls.SslProtocol} {tls.NegotiatedCipherSuite}";
            human.WriteLine($"tls      {tls.SslProtocol}, {tls.NegotiatedCipherSuite}");
            channel = tls;
        }

        try
        {
            var clock = Stopwatch.StartNew();
            string request = $"GET {settings.GetPath} HTTP/1.1\r\nHost: {settings.To}:{settings.Port}\r\nUser-Agent: wirestack\r\nAccept: */*\r\nConnection: close\r\n\r\n";
            channel.Write(Encoding.ASCII.GetBytes(request));
            var reader = new HttpReader(channel);
            List<string> head = reader.ReadHead()
                ?? throw new InvalidDataException("the server closed without answering");
            string[] status = head[0].Split(' ', 3);
            if (status.Length < 2 || !status[0].StartsWith("HTTP/", StringComparison.Ordinal) || !int.TryParse(status[1], out int code))
            {
                throw new InvalidDataException($"not an HTTP response: '{head[0]}'");
            }

            long? length = long.TryParse(HttpReader.Field(head, "Content-Length"), NumberStyles.None, CultureInfo.InvariantCulture, out long l) ? l : null;
            bool chunked = HttpReader.Field(head, "Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true;
            using FileStream? file = settings.OutputFile is null ? null : new FileStream(settings.OutputFile, FileMode.Create, FileAccess.Write);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long body = chunked ? ReadChunked(reader, hash, file) : ReadBody(reader, length, hash, file);
            double seconds = clock.Elapsed.TotalSeconds;
            string sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            result["status"] = code;
            result["status_line"] = head[0];
            result["content_length"] = length;
            result["bytes_received"] = body;
            result["sha256_received"] = sha;
            result["seconds"] = Math.Round(seconds, 6);
            result["throughput_bits_per_second"] = Math.Round(body * 8 / Math.Max(seconds, 1e-9));
            human.WriteLine($"response {head[0]}");
            human.WriteLine($"body     {Units.FormatBytes(body)}, sha256 {sha}");
            human.WriteLine(string.Create(CultureInfo.InvariantCulture, $"time     {seconds:0.000} s ({Units.FormatRate(body * 8 / Math.Max(seconds, 1e-9))})"));
            if (length is { } expected && body != expected)
            {
                throw new InvalidDataException($"the body ended after {body} of {expected} bytes");
            }

            return code is >= 200 and < 300 ? ExitCodes.Success : ExitCodes.Failure;
        }
        finally
        {
            tls?.Dispose();
        }
    }

    private static long ReadBody(HttpReader reader, long? length, IncrementalHash hash, FileStream? file)
    {
        byte[] buffer = new byte[1 << 16];
        long total = 0;
        while (length is null || total < length)
        {
            int want = length is { } l ? (int)Math.Min(buffer.Length, l - total) : buffer.Length;
            int n = reader.Read(buffer.AsSpan(0, want));
            if (n == 0)
            {
                break;
            }

            hash.AppendData(buffer, 0, n);
            if (file is not null)
            {
                file.Write(buffer, 0, n);
            }

            total += n;
        }

        return total;
    }

    private static long ReadChunked(HttpReader reader, IncrementalHash hash, FileStream? file)
    {
        long total = 0;
        while (true)
        {
            string line = reader.ReadLine();
            string sizeText = line.Split(';')[0].Trim();
            if (!long.TryParse(sizeText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long size))
            {
                throw new InvalidDataException($"bad chunk size '{line}'");
            }

            if (size == 0)
            {
                while (reader.ReadLine().Length > 0)
                {
                    // trailer fields
                }

                return total;
            }

            long got = ReadBody(reader, size, hash, file);
            if (got != size)
            {
                throw new InvalidDataException("the connection ended inside a chunk");
            }

            total += got;
            reader.ReadLine();
        }
    }

    /// <summary>One line for a failure: the errno and the stack's explanation for socket errors.</summary>
    internal static string Explain(Exception ex) => ex switch
    {
        WirestackSocketException w => w.Cause is null ? $"{w.Errno} ({w.SocketErrorCode})" : $"{w.Errno}: {w.Cause}",
        IOException { InnerException: WirestackSocketException w } => w.Cause is null ? $"{w.Errno} ({w.SocketErrorCode})" : $"{w.Errno}: {w.Cause}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };
}
