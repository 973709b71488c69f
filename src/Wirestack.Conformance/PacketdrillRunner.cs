using Wirestack.Tcp;

namespace Wirestack.Conformance;

/// <summary>
/// Runs packetdrill scripts (see <c>shared/conformance/packetdrill-format.md</c>) against a fresh Wirestack stack each,
/// in virtual time. A script passes when every line matched; fails with the first difference; skips (naming the
/// feature) when it uses something the interpreter or the stack does not support. Never throws for a script.
/// </summary>
public static class PacketdrillRunner
{
    /// <summary>Runs the script at <paramref name="path"/>.</summary>
    public static ScriptResult Run(string path, ConformanceOptions options)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ScriptResult.Fail(path, $"cannot read the script: {e.Message}");
        }

        return RunText(text, path, options);
    }

    /// <summary>Runs script text; <paramref name="path"/> names it in results and chooses the profile.</summary>
    public static ScriptResult RunText(string text, string path, ConformanceOptions options)
    {
        Script script;
        try
        {
            script = Parser.Parse(text, path);
        }
        catch (ScriptSyntaxException e)
        {
            return ScriptResult.Skip(path, $"unsupported syntax at {Path.GetFileName(path)}:{e.Line}: {e.Message[(e.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..]}");
        }
        catch (ScriptSkipException e)
        {
            return ScriptResult.Skip(path, e.Feature);
        }

        var run = new ScriptRun(script, options, Path.GetFileName(path));
        try
        {
            run.Prepare(Harness.For(path));
            Validate(script);
        }
        catch (ScriptSkipException e)
        {
            return ScriptResult.Skip(path, e.Feature);
        }
        catch (Exception e) when (e is OverflowException or FormatException or ArgumentException)
        {
            return ScriptResult.Skip(path, $"unsupported set-up value: {e.Message}");
        }

        try
        {
            run.Execute();
            options.Inspect?.Invoke(run.Stack);
            return ScriptResult.Pass(path);
        }
        catch (ScriptFailException e)
        {
            options.Inspect?.Invoke(run.Stack);
            return ScriptResult.Fail(path, e.Detail);
        }
        catch (ScriptSkipException e)
        {
            return ScriptResult.Skip(path, e.Feature);
        }
        catch (Exception e)
        {
            return ScriptResult.Fail(path, $"interpreter error: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>"freebsd" for scripts under a <c>freebsd-tcp-testsuite</c> directory, else "linux".</summary>
    public static string ProfileFor(string path) => Harness.For(path).Profile;

    /// <summary>The scripts named by <paramref name="paths"/>: files as given, directories searched recursively for
    /// <c>*.pkt</c>, in ordinal order.</summary>
    public static List<string> FindScripts(IEnumerable<string> paths)
    {
        var result = new List<string>();
        foreach (string path in paths)
        {
            if (Directory.Exists(path))
            {
                result.AddRange(Directory.EnumerateFiles(path, "*.pkt", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
            }
            else
            {
                result.Add(path);
            }
        }

        return result;
    }

    /// <summary>Finds, before anything runs, the first construct the interpreter cannot execute.</summary>
    private static void Validate(Script script)
    {
        foreach (ScriptEvent ev in script.Events)
        {
            switch (ev)
            {
                case PacketEvent p:
                    if (p.Unsupported is { } what)
                    {
                        throw new ScriptSkipException($"{what} (line {p.Line})");
                    }

                    if (p.Flags.Any(c => char.IsAsciiDigit(c) || c == 'A'))
                    {
                        throw new ScriptSkipException($"AccECN flags '{p.Flags}' (line {p.Line})");
                    }

                    break;
                case SyscallEvent s:
                    ValidateCall(s);
                    break;
                case ShellEvent sh:
                    ShellCommands.Apply(sh.Command, new TcpSettings());
                    break;
                case CodeEvent c:
                    ScriptRun.ParseCode(c.Code);
                    break;
            }
        }

        foreach (ShellCommand command in script.CleanupCommands)
        {
            ShellCommands.Apply(command.Text, new TcpSettings());
        }
    }

    private static void ValidateCall(SyscallEvent s)
    {
        if (!ScriptRun.SupportedCalls.Contains(s.Name))
        {
            throw new ScriptSkipException($"system call {s.Name}() (line {s.Line})");
        }

        ScriptRun.Evaluate(s.Result);
        if (s.Name is "setsockopt" or "getsockopt" &&
            !(s.Args.Count > 2 && s.Args[2] is SymbolExpr { Name: var option } && ScriptRun.SupportedSocketOptions.Contains(option)))
        {
            throw new ScriptSkipException($"socket option {(s.Args.Count > 2 ? s.Args[2] : "?")} (line {s.Line})");
        }

        if (s.Name is "send" or "recv" or "sendto" or "recvfrom" && s.Args.Count > 3)
        {
            long flags = ScriptRun.Evaluate(s.Args[3]);
            long supported = 0x40L | 0x4000L | (s.Name is "send" or "sendto" ? 0x8000L : 0); // MSG_DONTWAIT, MSG_NOSIGNAL, MSG_MORE
            if ((flags & ~supported) != 0)
            {
                throw new ScriptSkipException($"{s.Name}() flags {s.Args[3]} (line {s.Line})");
            }
        }

        if (s.Name == "fcntl" && !(s.Args.Count > 1 && s.Args[1] is SymbolExpr { Name: "F_GETFL" or "F_SETFL" }))
        {
            throw new ScriptSkipException($"fcntl {(s.Args.Count > 1 ? s.Args[1] : "?")} (line {s.Line})");
        }

        if (s.Name == "ioctl" && !(s.Args.Count > 1 && s.Args[1] is SymbolExpr { Name: "SIOCINQ" or "FIONREAD" or "SIOCOUTQ" or "TIOCOUTQ" }))
        {
            throw new ScriptSkipException($"ioctl {(s.Args.Count > 1 ? s.Args[1] : "?")} (line {s.Line})");
        }
    }
}
