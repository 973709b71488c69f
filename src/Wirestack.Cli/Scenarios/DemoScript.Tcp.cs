using Wirestack.Time;

namespace Wirestack.Cli.Scenarios;

internal sealed partial class DemoScript
{
    private void RunTcp()
    {
        _say.Heading($"3. TCP: alice sends bob {Units.FormatBytes(TransferBytes)} over a wire that now loses " +
            $"{Units.FormatProbability(TransferLoss)} of packets each way");
        AliceBob.AToB = AliceBob.AToB with { Loss = TransferLoss };
        AliceBob.BToA = AliceBob.BToA with { Loss = TransferLoss };
        long sentBefore = AliceBob.Counters.Sent;
        long lostBefore = AliceBob.Counters.Lost;
        var transfer = new BulkTransfer(Sim, Alice, Bob, s_bob)
        {
            Narrate = (t, text) => _say.At(t, text),
            DrainLimit = TimeSpan.FromMinutes(10),
        };
        Tcp = transfer.Run(TransferBytes, Seed);
        TcpWireLost = AliceBob.Counters.Lost - lostBefore;
        long carried = AliceBob.Counters.Sent - sentBefore;
        AliceBob.AToB = AliceBob.AToB with { Loss = 0 };
        AliceBob.BToA = AliceBob.BToA with { Loss = 0 };

        if (!Tcp.Completed)
        {
            string why = $"tcp: the transfer failed: {Sockets.SocketErrors.ToErrno(Tcp.Error)}{(Tcp.Cause is null ? "" : ": " + Tcp.Cause)}";
            _say.Note(why);
            Surprises.Add(why);
            return;
        }

        _say.Note($"SHA-256 sent      {Convert.ToHexStringLower(Tcp.ShaSent)}");
        _say.Note($"SHA-256 received  {Convert.ToHexStringLower(Tcp.ShaReceived)}");
        _say.Note(Tcp.HashesMatch ? "Identical: every byte arrived, in order, once." : "DIFFERENT: the data were damaged on the way.");
        double seconds = Tcp.Simulated.TotalSeconds;
        _say.Note($"{seconds:0.000} s of virtual time ({Units.FormatRate(Tcp.BytesReceived * 8 / seconds)}). The wire lost {TcpWireLost} of " +
            $"{carried:N0} packets; alice sent {Tcp.Retransmits} segments again.");
        _say.Note($"Why not faster: each loss cuts CUBIC's congestion window to 70%; on a {Units.FormatDuration(2 * WireDelay)} round trip with 1% loss");
        _say.Note("the window stays small. The send buffer started at Linux's 16 KiB and grew with the window, as Linux's does.");
        _say.Note("The wire is lossless again from here on.");
        Expect(Tcp.HashesMatch, "tcp: the SHA-256 of what bob received differs from what alice sent");
    }
}
