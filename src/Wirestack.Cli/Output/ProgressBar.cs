namespace Wirestack.Cli.Output;

/// <summary>A one-line progress bar redrawn with '\r' on stderr — only when stderr is the terminal, so that
/// redirected output and the tests see nothing of it.</summary>
internal sealed class ProgressBar(TextWriter stderr, int total, string unit)
{
    private const int Width = 30;
    private readonly bool _enabled = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected && total > 0;
    private int _lastPercent = -1;

    public void Report(int done, int failed)
    {
        int percent = (int)((long)done * 100 / total);
        if (!_enabled || (percent == _lastPercent && done != total))
        {
            return;
        }

        _lastPercent = percent;
        int filled = percent * Width / 100;
        string failures = failed > 0 ? $", {failed} failed" : "";
        stderr.Write($"\r[{new string('#', filled)}{new string('.', Width - filled)}] {percent,3}% {done:N0}/{total:N0} {unit}{failures}  ");
        stderr.Flush();
    }

    public void Finish()
    {
        if (_enabled && _lastPercent >= 0)
        {
            stderr.WriteLine();
        }
    }
}
