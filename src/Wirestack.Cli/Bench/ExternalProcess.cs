using System.ComponentModel;
using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Wirestack.Cli.Bench;

/// <summary>Runs a program to completion with a time limit, keeping what it printed.</summary>
internal static class ExternalProcess
{
    internal sealed record Outcome(int ExitCode, string Stdout, string Stderr, bool TimedOut)
    {
        public bool Succeeded => ExitCode == 0 && !TimedOut;

        /// <summary>The last non-empty line of stderr (or stdout), for a one-line reason.</summary>
        public string LastLine
        {
            get
            {
                string text = Stderr.Trim().Length > 0 ? Stderr : Stdout;
                string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                return TimedOut ? "timed out" : lines.Length > 0 ? lines[^1] : $"exit code {ExitCode}";
            }
        }
    }

    /// <summary>Runs <paramref name="file"/>; null when it cannot be started at all (not installed).</summary>
    public static Outcome? Run(string file, IEnumerable<string> arguments, TimeSpan limit, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        }
        catch (Win32Exception)
        {
            return null;
        }

        using (process)
        {
            var stdout = new StringBuilder();
            var stderr = new StringBuilder();
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            bool exited = process.WaitForExit(limit);
            if (!exited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(TimeSpan.FromSeconds(5));
            }
            else
            {
                process.WaitForExit(); // drain the output handlers
            }

            lock (stdout)
            lock (stderr)
            {
                return new Outcome(exited ? process.ExitCode : -1, stdout.ToString(), stderr.ToString(), !exited);
            }
        }
    }

    /// <summary>Whether a program is on the PATH.</summary>
    public static string? Which(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (string dir in new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" })
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The command line that starts this same program again (the apphost, or <c>dotnet</c> and this
    /// assembly), or null when this process is not the CLI (a test host).</summary>
    public static string[]? Self()
    {
        string? process = Environment.ProcessPath;
        string? assembly = Assembly.GetEntryAssembly()?.Location;
        if (process is null || assembly is null || !Path.GetFileNameWithoutExtension(assembly).Equals("Wirestack.Cli", StringComparison.Ordinal))
        {
            return null;
        }

        string name = Path.GetFileNameWithoutExtension(process);
        return name.Equals("dotnet", StringComparison.Ordinal) ? [process, assembly] : [process];
    }

    /// <summary>Whether this process runs as root (effective uid 0), from /proc/self/status.</summary>
    public static bool IsRoot()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    string[] ids = line.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
                    return ids.Length > 2 && ids[2] == "0";
                }
            }
        }
        catch (IOException)
        {
        }

        return false;
    }
}
