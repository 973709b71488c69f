using System.Runtime.ExceptionServices;
using Wirestack.Links.Linux.Interop;

namespace Wirestack.Links.Linux;

/// <summary>
/// Runs code inside a named network namespace (<c>ip netns add NAME</c>, which binds it at /var/run/netns/NAME)
/// without moving the process: setns(2) with CLONE_NEWNET changes only the calling thread, so the code runs on a
/// thread of its own that enters the namespace and ends with it. A socket or TUN device opened there stays in that
/// namespace for its whole life, whichever thread uses it later.
/// </summary>
public static class NetNamespace
{
    /// <summary>Where <c>ip netns</c> binds named namespaces.</summary>
    public const string RunDirectory = "/var/run/netns";

    /// <summary>Runs <paramref name="action"/> in namespace <paramref name="name"/> and returns its result
    /// (its exception is rethrown here).</summary>
    /// <exception cref="TunException">The namespace does not exist or cannot be entered.</exception>
    public static T Run<T>(string name, Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(action);
        if (name.Length == 0 || name.Contains('/'))
        {
            throw new ArgumentException($"'{name}' is not a namespace name", nameof(name));
        }

        string path = Path.Combine(RunDirectory, name);
        int fd = LibC.Open(path, LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (fd < 0)
        {
            int errno = LibC.LastError;
            throw new TunException($"cannot open network namespace {path}: {LibC.Describe(errno)}", errno);
        }

        T result = default!;
        ExceptionDispatchInfo? failure = null;
        try
        {
            var thread = new Thread(() =>
            {
                try
                {
                    if (LibC.SetNs(fd, LibC.CLONE_NEWNET) < 0)
                    {
                        int errno = LibC.LastError;
                        string hint = errno is LibC.EPERM ? " (needs CAP_SYS_ADMIN: run as root)" : "";
                        throw new TunException($"cannot enter network namespace {name}: {LibC.Describe(errno)}{hint}", errno);
                    }

                    result = action();
                }
                catch (Exception ex)
                {
                    failure = ExceptionDispatchInfo.Capture(ex);
                }
            }) { IsBackground = true, Name = $"netns {name}" };
            thread.Start();
            thread.Join();
        }
        finally
        {
            LibC.Close(fd);
        }

        failure?.Throw();
        return result;
    }
}
