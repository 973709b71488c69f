using System.Diagnostics;
using System.Text;

namespace Wirestack.Interop.Tests.Support;

/// <summary>What a finished process left: exit code, output, how long it ran.</summary>
public sealed record ProcessResult(string Command, int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"`{Command}` exited {ExitCode} after {Elapsed.TotalSeconds:0.00} s\n--- stdout ---\n{Tail(Stdout)}\n--- stderr ---\n{Tail(Stderr)}";

    private static string Tail(string text) => text.Length <= 4000 ? text : "..." + text[^4000..];
}

/// <summary>
/// A child process whose output lines are collected as they come (so a test can wait for "listening on"). Every
/// wait is bounded: a process that outlives its time is killed with its children, and the failure says so.
/// </summary>
public sealed class Proc : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly List<string> _lines = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TaskCompletionSource _stdoutDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Proc(Process process, string command)
    {
        _process = process;
        Command = command;
    }

    public string Command { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public static Proc Start(string file, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        var proc = new Proc(process, $"{file} {string.Join(' ', start.ArgumentList)}");
        process.OutputDataReceived += (_, e) => proc.OnLine(e.Data, proc._stdout, proc._stdoutDone);
        process.ErrorDataReceived += (_, e) => proc.OnLine(e.Data, proc._stderr, proc._stderrDone);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return proc;
    }

    /// <summary>Runs to completion within <paramref name="timeout"/> (killed after it, and the result says so).</summary>
    public static ProcessResult Run(TimeSpan timeout, string file, params string[] arguments)
    {
        using Proc proc = Start(file, arguments);
        return proc.WaitForExit(timeout);
    }

    /// <summary>Every line so far, stdout and stderr interleaved as they arrived.</summary>
    public List<string> Lines
    {
        get { lock (_lines) { return [.. _lines]; } }
    }

    /// <summary>Waits for a line of stdout or stderr that <paramref name="match"/> accepts; fails with the output
    /// so far when the process exits or the time runs out first.</summary>
    public string WaitForLine(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            lock (_lines)
            {
                string? line = _lines.FirstOrDefault(match);
                if (line is not null)
                {
                    return line;
                }

                if (clock.Elapsed > timeout || _process.HasExited)
                {
                    string state = _process.HasExited ? $"it exited with {_process.ExitCode}" : $"not within {timeout.TotalSeconds:0.#} s";
                    throw new Xunit.Sdk.XunitException($"`{Command}` never printed {what} ({state}); output:\n{string.Join('\n', _lines.TakeLast(60))}");
                }

                Monitor.Wait(_lines, 100);
            }
        }
    }

    /// <summary>Waits for the process to end by itself; kills it (with its children) after <paramref name="timeout"/>.</summary>
    public ProcessResult WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            Kill();
            _process.WaitForExit(5000);
            DrainOutput();
            return new ProcessResult(Command + " [KILLED: did not finish in time]", -1, Text(_stdout), Text(_stderr), _clock.Elapsed);
        }

        DrainOutput();
        return new ProcessResult(Command, _process.ExitCode, Text(_stdout), Text(_stderr), _clock.Elapsed);
    }

    /// <summary>Sends SIGTERM (kill -TERM) and waits for the process to finish its shutdown.</summary>
    public ProcessResult Terminate(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            Run(TimeSpan.FromSeconds(5), "kill", "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return WaitForExit(timeout);
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void OnLine(string? line, StringBuilder sink, TaskCompletionSource done)
    {
        if (line is null)
        {
            done.TrySetResult();
            return;
        }

        lock (_lines)
        {
            sink.AppendLine(line);
            _lines.Add(line);
            Monitor.PulseAll(_lines);
        }
    }

    private void DrainOutput() => Task.WaitAll([_stdoutDone.Task, _stderrDone.Task], TimeSpan.FromSeconds(5));

    private string Text(StringBuilder sink)
    {
        lock (_lines)
        {
            return sink.ToString();
        }
    }
}
