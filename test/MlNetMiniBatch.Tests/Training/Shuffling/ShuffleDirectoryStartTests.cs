using MlNetMiniBatch.Training.Shuffling;

namespace MlNetMiniBatch.Tests.Training.Shuffling;

/// <summary>
/// Runs that start at the same moment on one machine (the ranks of an MPI job) each clean up dead runs' shuffle
/// directories while the others are creating theirs. A starting run's directory must never look abandoned: a run that
/// probed another's lock file between its creation and its locking took the lock, deleted a live run's directory, or
/// made that run's own locking fail.
/// </summary>
[TestClass]
public sealed class ShuffleDirectoryStartTests
{
    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public void RunsStartingTogetherNeverRemoveOrBlockEachOther()
    {
        string parent = Path.Combine(Path.GetTempPath(), "mlnmb-start-race-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(parent);
        try
        {
            const int runners = 4, starts = 1500;
            int failures = 0;
            string? firstFailure = null;
            using var go = new Barrier(runners);
            var threads = Enumerable.Range(0, runners).Select(_ => new Thread(() =>
            {
                go.SignalAndWait();
                for (int i = 0; i < starts; i++)
                {
                    try
                    {
                        using var run = ShuffleDirectory.Create(parent);
                        File.WriteAllBytes(Path.Combine(run.FullPath, "shard-0"), [1, 2, 3]); // fails if another run removed it
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        if (Interlocked.Increment(ref failures) == 1)
                            firstFailure = e.ToString();
                    }
                }
            })).ToArray();
            foreach (var thread in threads) thread.Start();
            foreach (var thread in threads) thread.Join();
            Assert.AreEqual(0, failures, $"{failures} of {runners * starts} starts failed; the first: {firstFailure}");
            Assert.IsEmpty(Directory.GetDirectories(parent), "every run removed its own directory");
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [TestMethod]
    public void AStartingDirectoryIsRemovedOnlyWhenItsProcessIsGone()
    {
        string parent = Path.Combine(Path.GetTempPath(), "mlnmb-starting-" + Guid.NewGuid().ToString("N"));
        using var exited = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false })!;
        exited.WaitForExit();
        string dead = Directory.CreateDirectory(Path.Combine(parent, $"{ShuffleDirectory.StartingPrefix}{exited.Id}-dead")).FullName;
        string live = Directory.CreateDirectory(Path.Combine(parent, $"{ShuffleDirectory.StartingPrefix}{Environment.ProcessId}-live")).FullName;
        try
        {
            Assert.AreEqual(1, ShuffleDirectory.RemoveLeftovers(parent));
            Assert.IsFalse(Directory.Exists(dead), "a process killed while starting leaves nothing behind for good");
            Assert.IsTrue(Directory.Exists(live), "a run that is starting is not probed, even before its lock file exists");
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }
}
