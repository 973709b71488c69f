using Wirestack.Links;
using Wirestack.Simulation;

namespace Wirestack.Cli.Scenarios;

/// <summary>A capture of every simulated wire into a pcap file (<see cref="Simulator.CaptureAll"/>), opened before
/// the run so that a path that cannot be written fails at once. It owns the writer: <see cref="Finish"/> flushes and
/// closes it, so the simulator is not disposed as well (Simulator.Dispose flushes its writers again, which throws
/// once they are closed).</summary>
internal sealed class PcapCapture : IDisposable
{
    private readonly FileStream _file;
    private readonly PcapWriter _writer;
    private bool _closed;

    private PcapCapture(string path, FileStream file, PcapWriter writer)
    {
        Path = path;
        _file = file;
        _writer = writer;
    }

    /// <summary>The file's full path.</summary>
    public string Path { get; }

    /// <summary>Packets recorded so far.</summary>
    public long Packets => _writer.RecordCount;

    /// <summary>Starts capturing every wire <paramref name="sim"/> has now. Throws <see cref="CommandFailedException"/>
    /// when the file cannot be created.</summary>
    public static PcapCapture Start(Simulator sim, string path)
    {
        string full;
        FileStream file;
        try
        {
            full = System.IO.Path.GetFullPath(path);
            file = new FileStream(full, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new CommandFailedException($"cannot write the capture to '{path}': {ex.Message}", ex);
        }

        return new PcapCapture(full, file, sim.CaptureAll(file));
    }

    /// <summary>Flushes and closes the file; returns the number of packets in it.</summary>
    public long Finish()
    {
        if (!_closed)
        {
            _closed = true;
            _writer.Dispose();
            _file.Dispose();
        }

        return _writer.RecordCount;
    }

    public void Dispose() => Finish();
}
