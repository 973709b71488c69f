namespace Wirestack.Cli.Bench;

/// <summary>How long and how large each measurement is, for the three modes of <c>wirestack bench</c>.</summary>
internal sealed record BenchSettings
{
    /// <summary>Full: the figures for docs/PERFORMANCE.md. Quick: the same measurements, shorter, under two
    /// minutes. Smoke: each measurement for a moment, no network namespace, no lwIP, no subprocess: only that it
    /// runs and the output has its shape (CI).</summary>
    public required string Mode { get; init; }

    /// <summary>Measured time of a throughput run (after <see cref="Warmup"/>).</summary>
    public required TimeSpan BulkTime { get; init; }

    public required TimeSpan Warmup { get; init; }

    /// <summary>Measured time of the connection-rate run.</summary>
    public required TimeSpan RateTime { get; init; }

    /// <summary>Round trips timed for the latency figure.</summary>
    public required int PingPongs { get; init; }

    /// <summary>Idle connections opened for the memory figure (Wirestack; the kernel baseline as many as the fd
    /// limit allows).</summary>
    public required int IdleConnections { get; init; }

    /// <summary>Bytes of the simulated 1 Gbit/s, 20 ms RTT transfer.</summary>
    public required long SimulatedBytes { get; init; }

    /// <summary>Timed simulated transfers per row, after the warm-ups (the median is reported, as the issue's
    /// baselines are medians of 5).</summary>
    public required int SimulatedRuns { get; init; }

    /// <summary>Passes over the 256 MiB buffer (memcpy, checksum) and seconds of the cache-hot loops.</summary>
    public required int LargeBufferBytes { get; init; }

    public required TimeSpan LimitTime { get; init; }

    /// <summary>MiB the lwIP anchor moves per run, and runs (the median is reported).</summary>
    public required int LwipMegabytes { get; init; }

    public required int Repeats { get; init; }

    /// <summary>Use the network namespace, iperf3, lwIP and subprocess baselines.</summary>
    public bool External => Mode != "smoke";

    public static BenchSettings Full { get; } = new()
    {
        Mode = "full",
        BulkTime = TimeSpan.FromSeconds(5),
        Warmup = TimeSpan.FromSeconds(1),
        RateTime = TimeSpan.FromSeconds(5),
        PingPongs = 200_000,
        IdleConnections = 1_000_000, // the "1,000,000 concurrent connections in one process", shown in every full run
        SimulatedBytes = 1_000_000_000,
        SimulatedRuns = 5,
        LargeBufferBytes = 256 << 20,
        LimitTime = TimeSpan.FromSeconds(1),
        LwipMegabytes = 1024,
        Repeats = 3,
    };

    public static BenchSettings Quick { get; } = new()
    {
        Mode = "quick",
        BulkTime = TimeSpan.FromSeconds(1.5),
        Warmup = TimeSpan.FromSeconds(0.3),
        RateTime = TimeSpan.FromSeconds(1.5),
        PingPongs = 30_000,
        IdleConnections = 100_000,
        SimulatedBytes = 100_000_000,
        SimulatedRuns = 3,
        LargeBufferBytes = 256 << 20,
        LimitTime = TimeSpan.FromSeconds(0.3),
        LwipMegabytes = 256,
        Repeats = 1,
    };

    public static BenchSettings Smoke { get; } = new()
    {
        Mode = "smoke",
        BulkTime = TimeSpan.FromSeconds(0.1),
        Warmup = TimeSpan.FromSeconds(0.02),
        RateTime = TimeSpan.FromSeconds(0.1),
        PingPongs = 200,
        IdleConnections = 500,
        SimulatedBytes = 2_000_000,
        SimulatedRuns = 1,
        LargeBufferBytes = 4 << 20,
        LimitTime = TimeSpan.FromSeconds(0.05),
        LwipMegabytes = 0,
        Repeats = 1,
    };
}
