namespace Wirestack.Tests.Support;

/// <summary>A <see cref="FactAttribute"/> that is skipped, with a one-line reason, when <see cref="Tool"/> is not an
/// executable on the PATH (for example <c>tshark</c>, which CI installs and a developer box may not have).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class RequiresToolFactAttribute : FactAttribute
{
    public RequiresToolFactAttribute(string tool)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tool);
        Tool = tool;
        if (FindOnPath(tool) is null)
        {
            Skip = $"{tool} is not installed";
        }
    }

    public string Tool { get; }

    /// <summary>The full path of <paramref name="tool"/> on the PATH, or null when it is not there.</summary>
    public static string? FindOnPath(string tool)
    {
        string? path = Environment.GetEnvironmentVariable("PATH");
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        string[] names = OperatingSystem.IsWindows() ? [tool, tool + ".exe", tool + ".cmd", tool + ".bat"] : [tool];
        foreach (string directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string name in names)
            {
                string candidate = Path.Combine(directory.Trim('"'), name);
                if (File.Exists(candidate) && IsExecutable(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static bool IsExecutable(string file) =>
        OperatingSystem.IsWindows()
        || (File.GetUnixFileMode(file) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
}
