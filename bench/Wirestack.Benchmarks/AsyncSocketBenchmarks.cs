using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using BenchmarkDotNet.Attributes;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;

namespace Wirestack.Benchmarks;

/// <summary>
/// The async surfaces on the steady path: 64-byte echo round trips between two stacks over a simulated wire, all on
/// the benchmark thread (the simulator steps both stacks and the wire; completions and continuations run on it), so
/// MemoryDiagnoser's figure is everything the operations, both stacks and the wire allocate. One operation is one
/// awaited call; a round trip is four (send and receive on each side) for sockets and streams.
/// </summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Wirestack.Benchmarks -- --filter '*AsyncSocket*' --job short</c>.</remarks>
[MemoryDiagnoser]
public class AsyncSocketBenchmarks
{
    private const int Rounds = 1000;
    private const int MessageSize = 64;

    private readonly ReusableSignal _go = new();
    private Simulator _simulator = null!;
    private NetSocket _client = null!;
    private NetSocket _server = null!;
    private NetStream _stream = null!;
    private SocketDuplexPipe _pipe = null!;
    private bool _done;

    [Params("socket", "stream", "pipe")]
    public string Surface { get; set; } = "socket";

    [GlobalSetup]
    public void Setup()
    {
        _simulator = new Simulator(1);
        NetStack client = _simulator.AddHost("client");
        NetStack server = _simulator.AddHost("server");
        _simulator.Connect(client, "10.0.0.1/24", server, "10.0.0.2/24", new LinkImpairments { Delay = TimeSpan.FromMicroseconds(50) });
        var listener = new NetSocket(server, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(4);
        _simulator.Run(async () =>
        {
            _client = new NetSocket(client, SocketType.Stream);
            await _client.ConnectAsync(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 80));
            _server = await listener.AcceptAsync();
        }, TimeSpan.FromSeconds(10));
        _client.Connection!.NoDelay = true;
        _server.Connection!.NoDelay = true;
        switch (Surface)
        {
            case "stream":
                _stream = new NetStream(_client);
                _ = EchoAsync(_server);
                _ = StreamEngineAsync();
                break;
            case "pipe":
                _pipe = new SocketDuplexPipe(_client);
                _ = EchoAsync(_server);
                _ = PipeEngineAsync();
                break;
            default:
                _ = EchoAsync(_server);
                _ = SocketEngineAsync();
                break;
        }

        EchoRoundTrips(); // warm-up: first buffers, first timers, grown queues
    }

    /// <summary>Rounds echo round trips; per operation = per awaited call.</summary>
    [Benchmark(OperationsPerInvoke = Rounds * 4)]
    public void EchoRoundTrips()
    {
        _done = false;
        _go.Set();
        while (!_done)
        {
            if (!_simulator.Step())
            {
                throw new InvalidOperationException("the simulation went idle before the round trips finished");
            }
        }
    }

    private async Task SocketEngineAsync()
    {
        byte[] message = new byte[MessageSize];
        byte[] buffer = new byte[MessageSize];
        while (true)
        {
            await _go.WaitAsync();
            for (int i = 0; i < Rounds; i++)
            {
                await _client.SendAsync(message);
                int got = 0;
                while (got < MessageSize)
                {
                    got += await _client.ReceiveAsync(buffer.AsMemory(got));
                }
            }

            _done = true;
        }
    }

    private async Task StreamEngineAsync()
    {
        byte[] message = new byte[MessageSize];
        byte[] buffer = new byte[MessageSize];
        while (true)
        {
            await _go.WaitAsync();
            for (int i = 0; i < Rounds; i++)
            {
                await _stream.WriteAsync(message);
                int got = 0;
                while (got < MessageSize)
                {
                    got += await _stream.ReadAsync(buffer.AsMemory(got));
                }
            }

            _done = true;
        }
    }

    private async Task PipeEngineAsync()
    {
        byte[] message = new byte[MessageSize];
        while (true)
        {
            await _go.WaitAsync();
            for (int i = 0; i < Rounds; i++)
            {
                await _pipe.Output.WriteAsync(message);
                long got = 0;
                while (got < MessageSize)
                {
                    ReadResult result = await _pipe.Input.ReadAsync();
                    got += result.Buffer.Length;
                    _pipe.Input.AdvanceTo(result.Buffer.End);
                }
            }

            _done = true;
        }
    }

    private static async Task EchoAsync(NetSocket socket)
    {
        byte[] buffer = new byte[4096];
        int n;
        while ((n = await socket.ReceiveAsync(buffer)) > 0)
        {
            await socket.SendAsync(buffer.AsMemory(0, n));
        }
    }

    /// <summary>An allocation-free, reusable "go" signal for the engine loops.</summary>
    private sealed class ReusableSignal : IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core;

        public ValueTask WaitAsync() => new(this, _core.Version);

        public void Set() => _core.SetResult(true);

        public void GetResult(short token)
        {
            _core.GetResult(token);
            _core.Reset();
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags & ~ValueTaskSourceOnCompletedFlags.UseSchedulingContext);
    }
}
