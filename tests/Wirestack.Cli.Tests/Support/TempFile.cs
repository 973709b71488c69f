namespace Wirestack.Cli.Tests.Support;

/// <summary>A file path in a fresh temporary directory, deleted with it.</summary>
internal sealed class TempFile : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("wirestack-cli-tests-").FullName;

    public TempFile(string name)
    {
        Path = System.IO.Path.Combine(_directory, name);
    }

    public string Path { get; }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
