// `wirestack tun ...`: Wirestack on a Linux TUN device, in real time, talking to the kernel's own stack. The device is
// opened (created if it does not exist) by the command; addresses on the kernel side are the user's (or the test's)
// to set with `ip addr add`. Errors that the user can act on are one line each: "wirestack tun serve: cannot open
// /dev/net/tun: permission denied (run as root)".
using System.CommandLine;
using System.CommandLine.Parsing;
using Wirestack.Cli.Tun;
using Wirestack.Links.Linux;
using Wirestack.Sockets;
using Wirestack.Wire;

namespace Wirestack.Cli.Commands;

internal static class TunCommand
{
    public static Command Create()
    {
        var tun = new Command("tun", "Run Wirestack on a Linux TUN device in real time, against the kernel's TCP/IP stack (needs root and /dev/net/tun).");
        tun.Subcommands.Add(Serve());
        tun.Subcommands.Add(Connect());
        tun.Subcommands.Add(Ping());
        tun.Subcommands.Add(Bench());
        return tun;
    }

    private sealed record Common(Option<string> Dev, Option<IPv4Cidr> Addr, Option<int?> Mtu, Option<bool> Stats, Option<string?> Pcap,
        Option<int?> Seed, Option<int> Ring, Option<bool> Offload)
    {
        public static Common Make() => new(
            new Option<string>("--dev") { Description = "TUN device to open, created if it does not exist. Defaults to tun0.", HelpName = "NAME", DefaultValueFactory = _ => "tun0", CustomParser = ParseDev },
            Cidr("--addr", "Wirestack's address and prefix on the device: 10.77.0.2/24 (the kernel side's address is set with ip addr add)."),
            new Option<int?>("--mtu") { Description = "Set the device's MTU (68 to 65535). Defaults to the MTU the device has (1500 when new).", HelpName = "M", CustomParser = ParseMtu },
            new Option<bool>("--stats") { Description = "On exit, print the counters (netstat -s style) and the TCP socket table (ss style)." },
            new Option<string?>("--pcap") { Description = "Write every packet through the device to FILE (libpcap, raw IP).", HelpName = "FILE" },
            new Option<int?>("--seed") { Description = "Seed of the stack's randomness (ISNs, ports) and of the payload. Defaults to random (payload: 1)." },
            CliOptions.Integer("--ring", "Receive ring slots between the device's reader thread and the stack.", 1024, 16),
            new Option<bool>("--offload") { Description = "Open the device with virtio-net headers and TSO/checksum offloads: TCP segments of up to 64 KiB go to and come from the kernel whole." });

        public void AddTo(Command command)
        {
            command.Options.Add(Dev);
            command.Options.Add(Addr);
            command.Options.Add(Mtu);
            command.Options.Add(Stats);
            command.Options.Add(Pcap);
            command.Options.Add(Seed);
            command.Options.Add(Ring);
            command.Options.Add(Offload);
        }

        public TunSettings Read(ParseResult parsed) => new(parsed.GetValue(Dev)!, parsed.GetValue(Addr), parsed.GetValue(Mtu),
            parsed.GetValue(Pcap), parsed.GetValue(Stats), parsed.GetValue(Seed), parsed.GetValue(Ring), parsed.GetValue(Offload));
    }

    private static Command Serve()
    {
        var common = Common.Make();
        Option<int> port = CliOptions.Integer("--port", "TCP port to listen on.", 0, 1);
        port.Required = true;
        Option<bool> echo = new("--echo") { Description = "Send back every byte received." };
        Option<bool> discard = new("--discard") { Description = "Read and drop; log the byte count and SHA-256 of each connection." };
        Option<long?> source = new("--source") { Description = "Send BYTES of seeded data to each client, then close (SHA-256 printed at start).", HelpName = "BYTES", CustomParser = ParseSize };
        Option<string?> http = new("--http") { Description = "Serve the files under DIR over HTTP/1.1.", HelpName = "DIR" };
        Option<string?> https = new("--https") { Description = "Serve the files under DIR over HTTPS (needs --cert).", HelpName = "DIR" };
        Option<string?> cert = new("--cert") { Description = "PEM certificate for --https (with the key, or give --key).", HelpName = "FILE" };
        Option<string?> key = new("--key") { Description = "PEM private key for --cert, when it is not in the same file.", HelpName = "FILE" };
        Option<int> backlog = CliOptions.Integer("--backlog", "listen() backlog (the accept queue holds backlog + 1, as on Linux).", 128, 0);
        Option<bool> noAccept = new("--no-accept") { Description = "Listen but never accept (to see a full backlog from the kernel side)." };
        Option<bool> useAsync = new("--async") { Description = "Serve echo/discard/source with the async socket surface (one task per connection) instead of a blocking thread per connection." };
        var command = new Command("serve", "A TCP server on Wirestack for kernel clients (ncat, curl). Runs until SIGINT/SIGTERM.")
        {
            port, echo, discard, source, http, https, cert, key, backlog, noAccept, useAsync,
        };
        common.AddTo(command);
        common.Addr.Required = true;
        command.Validators.Add(result =>
        {
            int modes = new[] { result.GetValue(echo), result.GetValue(discard), result.GetResult(source) is not null,
                result.GetResult(http) is not null, result.GetResult(https) is not null }.Count(m => m);
            if (modes != 1 && !result.GetValue(noAccept))
            {
                result.AddError("give exactly one of --echo, --discard, --source BYTES, --http DIR, --https DIR");
            }
            else if (result.GetResult(https) is not null && result.GetResult(cert) is null)
            {
                result.AddError("--https needs --cert FILE");
            }
            else if (result.GetValue(useAsync) && (result.GetResult(http) is not null || result.GetResult(https) is not null))
            {
                result.AddError("--async serves --echo, --discard and --source only");
            }
        });
        command.SetAction(parsed =>
        {
            ServeMode mode = parsed.GetValue(echo) ? ServeMode.Echo : parsed.GetValue(discard) ? ServeMode.Discard
                : parsed.GetResult(source) is not null ? ServeMode.Source : parsed.GetResult(http) is not null ? ServeMode.Http
                : parsed.GetResult(https) is not null ? ServeMode.Https : ServeMode.Discard;
            var settings = new ServeSettings(common.Read(parsed), (ushort)parsed.GetValue(port), mode, parsed.GetValue(source) ?? 0,
                parsed.GetValue(http) ?? parsed.GetValue(https), parsed.GetValue(cert), parsed.GetValue(key), parsed.GetValue(backlog), parsed.GetValue(noAccept),
                parsed.GetValue(useAsync));
            return Guard("serve", parsed, (o, e) => TunServe.RunAsync(o, e, settings).GetAwaiter().GetResult());
        });
        return command;
    }

    private static Command Connect()
    {
        var common = Common.Make();
        Option<(IPv4Address, ushort)> to = new("--to")
        {
            Description = "The kernel-side server: 10.77.0.1:5001.",
            HelpName = "HOST:PORT",
            Required = true,
            CustomParser = r => TunServe.TryParseEndpoint(r.Tokens.Single().Value, out IPv4Address a, out ushort p)
                ? (a, p)
                : Error<(IPv4Address, ushort)>(r, $"--to: '{r.Tokens.Single().Value}' is not IPv4-ADDRESS:PORT"),
        };
        Option<long?> send = new("--send") { Description = "Send BYTES of seeded data, half-close, read until the server closes.", HelpName = "BYTES", CustomParser = ParseSize };
        Option<string?> get = new("--get") { Description = "HTTP GET of PATH (HTTP/1.1, Connection: close).", HelpName = "PATH" };
        Option<bool> tls = new("--tls") { Description = "Speak TLS (for --get against an HTTPS server or openssl s_server -WWW)." };
        Option<bool> insecure = new("--insecure", "-k") { Description = "With --tls, accept any server certificate (like curl -k)." };
        Option<string?> output = new("--output", "-o") { Description = "Write the --get body to FILE.", HelpName = "FILE" };
        Option<TimeSpan> timeout = CliOptions.Duration("--timeout", "Give up after this long, connect included. Defaults to 120s.");
        Option<bool> json = CliOptions.Json();
        Option<bool> useAsync = new("--async") { Description = "With --send, write and read with the async socket surface instead of blocking calls." };
        var command = new Command("connect", "A TCP client on Wirestack to a kernel server (ncat -l, python3 -m http.server, openssl s_server).")
        {
            to, send, get, tls, insecure, output, timeout, json, useAsync,
        };
        common.AddTo(command);
        common.Addr.Required = true;
        command.Validators.Add(result =>
        {
            if ((result.GetResult(send) is null) == (result.GetResult(get) is null))
            {
                result.AddError("give exactly one of --send BYTES, --get PATH");
            }
        });
        command.SetAction(parsed =>
        {
            (IPv4Address address, ushort port) = parsed.GetValue(to);
            var settings = new ConnectSettings(common.Read(parsed), address, port, parsed.GetValue(send), parsed.GetValue(get),
                parsed.GetValue(tls), parsed.GetValue(insecure), parsed.GetValue(output), parsed.ValueOr(timeout, TimeSpan.FromSeconds(120)), parsed.GetValue(json),
                parsed.GetValue(useAsync));
            return Guard("connect", parsed, (o, e) => TunConnect.RunAsync(o, e, settings).GetAwaiter().GetResult());
        });
        return command;
    }

    private static Command Ping()
    {
        var common = Common.Make();
        Option<IPv4Address> to = new("--to")
        {
            Description = "The address to ping (the kernel side of the device).",
            HelpName = "HOST",
            Required = true,
            CustomParser = r => IPv4Address.TryParse(r.Tokens.Single().Value, out IPv4Address a) ? a : Error<IPv4Address>(r, $"--to: '{r.Tokens.Single().Value}' is not an IPv4 address"),
        };
        Option<int> count = CliOptions.Integer("--count", "Echo requests to send.", 4, 1);
        Option<TimeSpan> interval = CliOptions.Duration("--interval", "Time between requests, and how long each waits for its reply. Defaults to 1s.");
        Option<bool> json = CliOptions.Json();
        var command = new Command("ping", "ICMP echo from Wirestack to a kernel address over the device.") { to, count, interval, json };
        common.AddTo(command);
        common.Addr.Required = true;
        command.SetAction(parsed =>
        {
            var settings = new PingSettings(common.Read(parsed), parsed.GetValue(to), parsed.GetValue(count), parsed.ValueOr(interval, TimeSpan.FromSeconds(1)), parsed.GetValue(json));
            return Guard("ping", parsed, (o, e) => TunPing.Run(o, e, settings));
        });
        return command;
    }

    private static Command Bench()
    {
        Option<TimeSpan> duration = CliOptions.Duration("--duration", "How long each measurement sends. Defaults to 3s.");
        Option<string> mtus = new("--mtus") { Description = "MTUs to measure at, comma-separated. Defaults to 1500,65535.", HelpName = "LIST", DefaultValueFactory = _ => "1500,65535" };
        Option<string> offload = new("--offload")
        {
            Description = "Wirestack's device with TSO/checksum offloads (virtio-net headers): on, off, or both (each MTU measured both ways). Defaults to both.",
            HelpName = "on|off|both",
            DefaultValueFactory = _ => "both",
        };
        offload.AcceptOnlyFromAmong("on", "off", "both");
        Option<bool> json = CliOptions.Json();
        var command = new Command("bench", "Bulk TCP throughput Wirestack<->kernel over TUN in each direction, and kernel<->kernel over a veth pair, " +
            "in network namespaces it makes and deletes (needs root).") { duration, mtus, offload, json };
        command.SetAction(parsed =>
        {
            string list = parsed.GetValue(mtus)!;
            var values = new List<int>();
            foreach (string item in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Units.TryParseMtu(item, out int mtu, out string? error))
                {
                    parsed.InvocationConfiguration.Error.WriteLine($"wirestack tun bench: --mtus: {error}");
                    return ExitCodes.Usage;
                }

                values.Add(mtu);
            }

            bool[] modes = parsed.GetValue(offload) switch { "on" => [true], "off" => [false], _ => [false, true] };
            var settings = new BenchSettings(parsed.ValueOr(duration, TimeSpan.FromSeconds(3)), values, parsed.GetValue(json), modes);
            return Guard("bench", parsed, (o, e) => TunBench.Run(o, e, settings));
        });
        return command;
    }

    /// <summary>Runs a subcommand, turning the failures a user can act on into one line and exit code 1.</summary>
    private static int Guard(string name, ParseResult parsed, Func<TextWriter, TextWriter, int> body)
    {
        TextWriter stdout = parsed.InvocationConfiguration.Output;
        TextWriter stderr = parsed.InvocationConfiguration.Error;
        try
        {
            return body(stdout, stderr);
        }
        catch (Exception ex) when (ex is TunException or CommandFailedException or WirestackSocketException)
        {
            stderr.WriteLine($"wirestack tun {name}: {OneLine(ex.Message)}");
            return ExitCodes.Failure;
        }
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();

    private static Option<IPv4Cidr> Cidr(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "A.B.C.D/NN",
        CustomParser = r =>
        {
            string text = r.Tokens.Single().Value;
            if (!text.Contains('/'))
            {
                return Error<IPv4Cidr>(r, $"{name}: '{text}' needs a prefix length (10.77.0.2/24)");
            }

            return IPv4Cidr.TryParse(text, out IPv4Cidr cidr, out string? error) ? cidr : Error<IPv4Cidr>(r, $"{name}: {error}");
        },
    };

    private static string ParseDev(ArgumentResult r)
    {
        string name = r.Tokens.Single().Value;
        return TunDevice.IsValidName(name, out string? error) ? name : Error<string>(r, $"--dev: {error}");
    }

    private static int? ParseMtu(ArgumentResult r) =>
        Units.TryParseMtu(r.Tokens.Single().Value, out int mtu, out string? error) ? mtu : Error<int?>(r, $"--mtu: {error}");

    private static long? ParseSize(ArgumentResult r) =>
        Units.TryParseSize(r.Tokens.Single().Value, out long bytes, out string? error) ? bytes : Error<long?>(r, $"{((OptionResult)r.Parent!).Option.Name}: {error}");

    private static T Error<T>(ArgumentResult result, string message)
    {
        result.AddError(message);
        return default!;
    }
}
