using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Links;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Wire;

namespace Wirestack.Simulation.Scenarios;

/// <summary>Seed 002 (Kyu's long-send panic): a loop of tcp_send() calls with chunks of 2048, 5000, 6500 and 8000
/// bytes panicked in m_copym, and 200 KB transfers repeated for hours hung. Here each chunk size sends 200 KB, and a
/// "wangdoodle" server answers "big" with 200 KB, a hundred times over; every byte is checked by SHA-256.</summary>
public sealed class BigSendScenario : IScenario
{
    public static readonly int[] ChunkSizes = [2048, 5000, 6500, 8000];
    public const int TransferBytes = 200 * 1024;
    public const int Repeats = 100;

    public string Name => "big-send";

    public string Description => $"Kyu's long send: 200 KB in chunks of {string.Join(", ", ChunkSizes)} bytes, then a 200 KB transfer repeated {Repeats} times, all SHA-256 verified";

    public ScenarioResult Run(ScenarioOptions options)
    {
        var run = new ScenarioRun(this, options);
        NetStack kyu = run.Host("kyu");
        NetStack linux = run.Host("linux");
        run.Wire(kyu, "192.168.0.73/24", linux, "192.168.0.5/24", new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1) });
        byte[] data = new byte[TransferBytes];
        new Random(options.Seed).NextBytes(data);
        "THE END OF THE DATA: the last bytes are recognisable, as Kyu made them."u8.CopyTo(data.AsSpan(TransferBytes - 80));
        byte[] digest = SHA256.HashData(data);

        // a. kyu sends 200 KB to "ncat -l -p 2022" in a loop of tcp_send(chunk) calls.
        using var ncat = new NetSocket(linux, SocketType.Stream);
        ncat.Bind(new IPEndPoint(IPAddress.Any, 2022));
        ncat.Listen(8);
        run.Note(linux, "ncat -l -p 2022 | sha256sum");
        int chunksOk = 0;
        foreach (int chunk in ChunkSizes)
        {
            var start = run.Sim.Now;
            using var socket = new NetSocket(kyu, SocketType.Stream);
            socket.Connect(new IPEndPoint(IPAddress.Parse("192.168.0.5"), 2022));
            using NetSocket accepted = ncat.Accept();
            using var drain = new SocketDrain(run.Sim, accepted);
            int calls = 0;
            bool short_ = false;
            for (int offset = 0; offset < data.Length; offset += chunk)
            {
                int len = Math.Min(chunk, data.Length - offset);
                int n = socket.Send(data.AsSpan(offset, len), out SocketError e); // blocking: every byte or an error
                calls++;
                if (n != len || e != SocketError.Success)
                {
                    short_ = true;
                    run.Error(kyu, $"tcp_send({len}) #{calls}", e, socket.ErrorCause, $"send returned {n} of {len} bytes");
                    break;
                }
            }

            socket.Shutdown(SocketShutdown.Send);
            run.RunUntil(() => drain.Finished, TimeSpan.FromSeconds(60));
            bool ok = !short_ && drain.BytesReceived == data.Length && drain.Digest.AsSpan().SequenceEqual(digest);
            chunksOk += ok ? 1 : 0;
            run.Note(kyu, $"a. {calls} × tcp_send({chunk}) = {data.Length} bytes in {ScenarioRun.S((run.Sim.Now - start).TotalSeconds * 1000)} ms; " +
                $"ncat got {drain.BytesReceived} bytes, SHA-256 {(ok ? "matches" : "DIFFERS")}");
            run.Check(ok, $"chunks of {chunk}: every send takes all its bytes and all 200 KB arrive intact");
            run.Fact($"chunk_{chunk}_ok", ok ? 1 : 0);
            socket.Close();
            accepted.Close();
            run.RunFor(TimeSpan.FromMilliseconds(100));
        }

        // b. the wangdoodle server: "big" → 200 KB, then close; a script pounds on it.
        using var wangdoodle = new NetSocket(kyu, SocketType.Stream) { Blocking = false };
        wangdoodle.Bind(new IPEndPoint(IPAddress.Any, 114));
        wangdoodle.Listen(8);
        var server = new Wangdoodle(run.Sim, data);
        wangdoodle.ReadinessChanged += _ => run.Sim.Post(() => server.Accept(wangdoodle));
        run.Note(kyu, $"b. the wangdoodle server on port 114 answers \"big\" with {TransferBytes / 1024} KB and closes; a script asks {Repeats} times in a row");
        int good = 0;
        var startB = run.Sim.Now;
        long retransBefore = kyu.Counters.Tcp.RetransSegs;
        for (int i = 0; i < Repeats; i++)
        {
            using var nc = new NetSocket(linux, SocketType.Stream);
            nc.Connect(new IPEndPoint(IPAddress.Parse("192.168.0.73"), 114));
            nc.Send("big\n"u8);
            using var drain = new SocketDrain(run.Sim, nc);
            run.RunUntil(() => drain.Finished, TimeSpan.FromSeconds(60));
            bool ok = drain.Error == SocketError.Success && drain.BytesReceived == data.Length && drain.Digest.AsSpan().SequenceEqual(digest);
            if (ok)
            {
                good++;
            }
            else
            {
                run.Note(linux, $"transfer {i + 1}: {drain.BytesReceived} bytes, {SocketErrors.ToErrno(drain.Error)}, SHA-256 {(ok ? "matches" : "DIFFERS")}");
            }

            if (i + 1 == 1 || (i + 1) % 25 == 0)
            {
                run.Note(linux, $"transfer {i + 1}: {good} of {i + 1} intact so far");
            }
        }

        run.RunFor(TimeSpan.FromSeconds(61)); // TIME-WAIT ends
        run.Note(kyu, $"{good} of {Repeats} transfers intact ({(long)Repeats * TransferBytes / 1024} KB in {ScenarioRun.S((run.Sim.Now - startB).TotalSeconds - 61)} s); " +
            $"connections left {kyu.Tcp.ConnectionCount + linux.Tcp.ConnectionCount}, budget in use {kyu.Budget.InUse + linux.Budget.InUse} bytes");
        run.Fact("chunk_sizes_ok", chunksOk);
        run.Fact("transfers_ok", good);
        run.Fact("transfers", Repeats);
        run.Check(good == Repeats, $"all {Repeats} transfers arrive intact ({good})");
        run.Check(server.Served == Repeats, $"the server answered every request ({server.Served})");
        run.Check(kyu.Tcp.ConnectionCount == 0 && linux.Tcp.ConnectionCount == 0, "no connection is left hanging");
        run.Check(kyu.Budget.InUse == 0 && linux.Budget.InUse == 0, "every buffer is back: the budgets are at 0");
        run.Key(kyu, "Tcp", "OutSegs", "segments kyu sent");
        run.Key(kyu, "Tcp", "RetransSegs", "segments kyu sent again");
        run.Key(kyu, "Tcp", "PassiveOpens", "wangdoodle requests accepted");
        run.Key(linux, "Tcp", "ActiveOpens", "connections the script (and kyu's sender) opened");
        run.Key(kyu, "TcpExt", "TW", "connections kyu closed first, which then waited out TIME-WAIT");
        run.Summary($"Every chunk size ({string.Join(", ", ChunkSizes)}) sent its 200 KB whole: a blocking send takes every byte (waiting for room as the peer");
        run.Summary("acknowledges) or fails with an error, never a short count or a panic, and segments are cut by MSS, not by the caller's chunks.");
        run.Summary($"{good} of {Repeats} 200 KB transfers arrived intact, with no hang at close: one lock per stack, released while a call waits (seed 002).");
        return run.Finish();
    }

    /// <summary>A server that reads a command and answers "big" with the data, then closes.</summary>
    private sealed class Wangdoodle(Simulator sim, byte[] data)
    {
        public int Served { get; private set; }

        public void Accept(NetSocket listener)
        {
            while (listener.Accept(out SocketError _) is { } socket)
            {
                var session = new Session(sim, socket, data, this);
                session.Start();
            }
        }

        private sealed class Session(Simulator sim, NetSocket socket, byte[] data, Wangdoodle server)
        {
            private readonly byte[] _command = new byte[16];
            private int _commandLength;
            private int _offset = -1;
            private bool _posted;
            private bool _done;

            public void Start()
            {
                socket.Blocking = false;
                socket.ReadinessChanged += _ => Schedule();
                Schedule();
            }

            private void Schedule()
            {
                if (!_posted && !_done)
                {
                    _posted = true;
                    sim.Post(Run);
                }
            }

            private void Run()
            {
                _posted = false;
                if (_done)
                {
                    return;
                }

                if (_offset < 0)
                {
                    int n = socket.Receive(_command.AsSpan(_commandLength), out SocketError e);
                    if (e != SocketError.Success || n == 0)
                    {
                        return;
                    }

                    _commandLength += n;
                    if (Array.IndexOf(_command, (byte)'\n', 0, _commandLength) < 0)
                    {
                        return;
                    }

                    _offset = 0;
                }

                while (_offset < data.Length)
                {
                    int n = socket.Send(data.AsSpan(_offset), out SocketError e);
                    if (e != SocketError.Success || n == 0)
                    {
                        return; // wait for room
                    }

                    _offset += n;
                }

                _done = true;
                server.Served++;
                socket.Close(); // FIN after the data
            }
        }
    }
}
