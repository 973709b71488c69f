// `wirestack tun serve`: a Wirestack TCP server on a TUN device, for kernel clients (ncat, curl, python). Each
// connection runs on a thread of its own with the blocking calls over NetStream (SslStream over it for --https);
// --async serves echo/discard/source with the async surface instead (ReadAsync/WriteAsync, one task per
// connection). Every connection logs one line when it ends, so a
// test can check what the server saw; SIGINT/SIGTERM closes the listener and the connections and, with --stats,
// prints the counters and the socket table.
using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Wirestack.Sockets;
using Wirestack.Wire;

namespace Wirestack.Cli.Tun;

internal enum ServeMode
{
    Echo,
    Discard,
    Source,
    Http,
    Https,
}

internal sealed record ServeSettings(TunSettings Tun, ushort Port, ServeMode Mode, long SourceBytes, string? Directory,
    string? Certificate, string? Key, int Backlog, bool NoAccept, bool Async);

internal static class TunServe
{
    private const int Chunk = 1 << 16;

    public static async Task<int> RunAsync(TextWriter stdout, TextWriter stderr, ServeSettings settings)
    {
        TextWriter output = TextWriter.Synchronized(stdout);
        X509Certificate2? certificate = settings.Mode == ServeMode.Https ? LoadCertificate(settings) : null;
        Payload? source = settings.Mode == ServeMode.Source ? new Payload(settings.SourceBytes, settings.Tun.Seed ?? 1) : null;
        if (settings.Directory is { } dir && !Directory.Exists(dir))
        {
            throw new CommandFailedException($"directory '{dir}' does not exist");
        }

        using TunHost host = TunHost.Start(settings.Tun);
        using var listener = new NetSocket(host.Stack, SocketType.Stream);
        SocketError bound = listener.Bind(host.Address, settings.Port);
        if (bound != SocketError.Success)
        {
            throw new CommandFailedException($"cannot bind {host.Address}:{settings.Port}: {SocketErrors.ToErrno(bound)}");
        }

        listener.Listen(settings.Backlog);
        if (source is not null)
        {
            output.WriteLine($"source: {source.Length} bytes per connection, sha256 {Convert.ToHexStringLower(source.Sha256())}");
        }

        string what = settings.NoAccept ? $"{Describe(settings)}, backlog {settings.Backlog}, never accepting" : Describe(settings);
        output.WriteLine($"listening on {host.Address}:{settings.Port} ({what}); {host.Describe()}");

        var handlers = new List<Task>();
        var threads = new List<(Thread Thread, NetSocket Socket)>();
        int accepted = 0;
        var server = settings.Directory is null ? null : new HttpFileServer(settings.Directory, output.WriteLine);
        try
        {
            if (settings.NoAccept)
            {
                await Task.Delay(Timeout.Infinite, host.Stopping).ConfigureAwait(false);
            }

            while (!host.Stopping.IsCancellationRequested)
            {
                NetSocket socket = await listener.AcceptAsync(host.Stopping).ConfigureAwait(false);
                accepted++;
                if (settings.Async)
                {
                    handlers.RemoveAll(t => t.IsCompleted);
                    handlers.Add(Task.Run(() => HandleAsync(socket, settings, source, output, host.Stopping)));
                }
                else
                {
                    threads.RemoveAll(t => !t.Thread.IsAlive);
                    var thread = new Thread(() => Handle(socket, settings, source, server, certificate, output, host.Stopping))
                    {
                        IsBackground = true,
                        Name = $"conn {accepted}",
                    };
                    threads.Add((thread, socket));
                    thread.Start();
                }
            }
        }
        catch (OperationCanceledException) when (host.Stopping.IsCancellationRequested)
        {
        }

        string why = host.DeviceFault is { } fault ? $"the device failed: {fault.Message}" : $"stopped by {host.Signal?.ToString() ?? "request"}";
        output.WriteLine($"{why}; {accepted} connections accepted");
        if (settings.Tun.Stats)
        {
            host.PrintStats(output); // before closing anything: the table shows the listener and the live connections
        }

        listener.Close();
        foreach ((Thread thread, NetSocket socket) in threads.Where(t => t.Thread.IsAlive))
        {
            socket.Close(); // a blocked call on a closed socket gives up
        }

        var deadline = Stopwatch.StartNew();
        foreach ((Thread thread, _) in threads)
        {
            TimeSpan left = TimeSpan.FromSeconds(3) - deadline.Elapsed;
            thread.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }

        await Task.WhenAny(Task.WhenAll(handlers), Task.Delay(TimeSpan.FromSeconds(3))).ConfigureAwait(false);
        host.Linger(TimeSpan.FromSeconds(2)); // let the FINs of the connections just closed out

        ReportCapture(output, host);
        certificate?.Dispose();
        return host.DeviceFault is null ? ExitCodes.Success : ExitCodes.Failure;
    }

    internal static void ReportCapture(TextWriter output, TunHost host)
    {
        if (host.CapturePath is { } path)
        {
            output.WriteLine($"capture: {host.CapturedPackets} packets written to {path}");
        }
    }

    private static string Describe(ServeSettings s) => s.Mode switch
    {
        ServeMode.Source => $"source {s.SourceBytes} bytes",
        ServeMode.Http => $"http {s.Directory}",
        ServeMode.Https => $"https {s.Directory}",
        _ => s.Mode.ToString().ToLowerInvariant(),
    };

    private static X509Certificate2 LoadCertificate(ServeSettings settings)
    {
        string cert = settings.Certificate ?? throw new CommandFailedException("--https needs --cert FILE (PEM)");
        try
        {
            using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(cert, settings.Key ?? cert);
            // Re-imported from PKCS#12 so the key is usable for the TLS handshake on every platform.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new CommandFailedException($"cannot load the certificate '{cert}'{(settings.Key is null ? "" : $" with key '{settings.Key}'")}: {ex.Message}", ex);
        }
    }

    /// <summary>One connection on a thread of its own with the blocking calls (the default).</summary>
    private static void Handle(NetSocket socket, ServeSettings settings, Payload? source, HttpFileServer? server,
        X509Certificate2? certificate, TextWriter output, CancellationToken stopping)
    {
        string peer = socket.RemoteEndPoint?.ToString() ?? "?";
        var clock = Stopwatch.StartNew();
        NetStream stream;
        try
        {
            stream = new NetStream(socket, ownsSocket: true);
        }
        catch (IOException ex)
        {
            socket.Close(); // reset or closed between the handshake and accept
            output.WriteLine($"{peer}: gone before it was served: {ex.Message}");
            return;
        }

        try
        {
            using (stream)
            {
                switch (settings.Mode)
                {
                    case ServeMode.Echo:
                        long echoed = Echo(stream);
                        socket.Shutdown(SocketShutdown.Send);
                        output.WriteLine($"{peer}: echoed {echoed} bytes in {Seconds(clock)} s");
                        break;
                    case ServeMode.Discard:
                        (long received, byte[] sha) = Drain(stream);
                        socket.Shutdown(SocketShutdown.Send);
                        output.WriteLine($"{peer}: received {received} bytes, sha256 {Convert.ToHexStringLower(sha)} in {Seconds(clock)} s");
                        break;
                    case ServeMode.Source:
                        source!.WriteTo(stream, Chunk);
                        socket.Shutdown(SocketShutdown.Send);
                        output.WriteLine($"{peer}: sent {source.Length} bytes in {Seconds(clock)} s");
                        // Read until the client closes, so the close is orderly and nothing it sends meets a RST.
                        socket.ReceiveTimeout = TimeSpan.FromSeconds(30);
                        Drain(stream);
                        break;
                    case ServeMode.Http:
                        server!.Serve(stream, peer);
                        break;
                    case ServeMode.Https:
                        using (var tls = new SslStream(stream, leaveInnerStreamOpen: true))
                        {
                            tls.AuthenticateAsServer(new SslServerAuthenticationOptions { ServerCertificate = certificate });
                            server!.Serve(tls, peer);
                            tls.ShutdownAsync().GetAwaiter().GetResult(); // close_notify
                        }

                        break;
                }
            }
        }
        catch (Exception ex) when (stopping.IsCancellationRequested)
        {
            output.WriteLine($"{peer}: closed at shutdown ({ex.GetType().Name})");
        }
        catch (Exception ex)
        {
            output.WriteLine($"{peer}: error after {Seconds(clock)} s: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>One connection with the async surface (--async: ReadAsync/WriteAsync over the socket's reusable
    /// operations), for echo, discard and source.</summary>
    private static async Task HandleAsync(NetSocket socket, ServeSettings settings, Payload? source, TextWriter output,
        CancellationToken cancellationToken)
    {
        string peer = socket.RemoteEndPoint?.ToString() ?? "?";
        var clock = Stopwatch.StartNew();
        NetStream stream;
        try
        {
            stream = new NetStream(socket, ownsSocket: true);
        }
        catch (IOException ex)
        {
            socket.Close();
            output.WriteLine($"{peer}: gone before it was served: {ex.Message}");
            return;
        }

        try
        {
            await using var owned = stream;
            switch (settings.Mode)
            {
                case ServeMode.Echo:
                {
                    long echoed = await EchoAsync(stream, cancellationToken).ConfigureAwait(false);
                    socket.Shutdown(SocketShutdown.Send);
                    output.WriteLine($"{peer}: echoed {echoed} bytes in {Seconds(clock)} s");
                    break;
                }

                case ServeMode.Discard:
                {
                    (long received, byte[] sha) = await DrainAsync(stream, cancellationToken).ConfigureAwait(false);
                    socket.Shutdown(SocketShutdown.Send);
                    output.WriteLine($"{peer}: received {received} bytes, sha256 {Convert.ToHexStringLower(sha)} in {Seconds(clock)} s");
                    break;
                }

                case ServeMode.Source:
                {
                    await source!.WriteToAsync(stream, Chunk, cancellationToken).ConfigureAwait(false);
                    socket.Shutdown(SocketShutdown.Send);
                    output.WriteLine($"{peer}: sent {source.Length} bytes in {Seconds(clock)} s");
                    using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    drain.CancelAfter(TimeSpan.FromSeconds(30));
                    await DrainAsync(stream, drain.Token).ConfigureAwait(false);
                    break;
                }

                default:
                    throw new InvalidOperationException($"--async does not serve {settings.Mode}");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            output.WriteLine($"{peer}: closed at shutdown");
        }
        catch (Exception ex)
        {
            output.WriteLine($"{peer}: error after {Seconds(clock)} s: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static long Echo(NetStream stream)
    {
        byte[] buffer = new byte[Chunk];
        long total = 0;
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            stream.Write(buffer, 0, n);
            total += n;
        }

        return total;
    }

    /// <summary>Reads to the end of the stream (blocking); the byte count and their SHA-256.</summary>
    internal static (long Bytes, byte[] Sha256) Drain(Stream stream)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[Chunk];
        long total = 0;
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
        }

        return (total, hash.GetHashAndReset());
    }

    private static async Task<long> EchoAsync(NetStream stream, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[Chunk];
        long total = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            total += n;
        }

        return total;
    }

    /// <summary>Reads to the end of the stream; the byte count and their SHA-256.</summary>
    internal static async Task<(long Bytes, byte[] Sha256)> DrainAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[Chunk];
        long total = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
        }

        return (total, hash.GetHashAndReset());
    }

    private static string Seconds(Stopwatch clock) => clock.Elapsed.TotalSeconds.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>"10.77.0.1:5001" → address and port.</summary>
    internal static bool TryParseEndpoint(string text, out IPv4Address address, out ushort port)
    {
        address = default;
        port = 0;
        int colon = text.LastIndexOf(':');
        return colon > 0 && IPv4Address.TryParse(text[..colon], out address) && ushort.TryParse(text[(colon + 1)..], out port) && port != 0;
    }
}
