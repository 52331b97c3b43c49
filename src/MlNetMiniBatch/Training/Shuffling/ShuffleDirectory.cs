using System.Diagnostics;
using System.Globalization;

namespace MlNetMiniBatch.Training.Shuffling;

/// <summary>
/// The per-run directory of the streaming shuffle's temporary files, named after the owning process id and holding a
/// lock file that the owner keeps open. Deleted on dispose (training ended, failed or was cancelled). A process that
/// was killed cannot delete its own, so every new run first deletes the directories whose owner is gone: the pid is not
/// running, or it is running but the lock is free (the pid was reused by another program). A run creates and locks its
/// lock file under a starting name that nobody probes, then renames the directory (the lock moves with it): a
/// directory under the run name without a held lock would look abandoned to a run starting at the same moment, which
/// would delete it or, probing the lock, make its owner's locking fail.
/// </summary>
internal sealed class ShuffleDirectory : IDisposable
{
    internal const string Prefix = "mlnetminibatch-shuffle-";
    internal const string StartingPrefix = "mlnetminibatch-starting-";
    internal const string LockFileName = "owner.lock";

    private readonly FileStream _lock;

    private ShuffleDirectory(string path, FileStream ownerLock)
    {
        FullPath = path;
        _lock = ownerLock;
    }

    public string FullPath { get; }

    /// <summary>Removes leftovers of dead runs under <paramref name="parent"/>, then creates this run's directory.
    /// Throws the IOException or UnauthorizedAccessException of the file system; the caller names the option.</summary>
    public static ShuffleDirectory Create(string parent)
    {
        RemoveLeftovers(parent);
        string name = $"{Environment.ProcessId}-{Guid.NewGuid():N}";
        string starting = Path.Combine(parent, StartingPrefix + name), path = Path.Combine(parent, Prefix + name);
        Directory.CreateDirectory(starting);
        FileStream? ownerLock = null;
        try
        {
            ownerLock = new FileStream(Path.Combine(starting, LockFileName), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
            Directory.Move(starting, path);
            return new ShuffleDirectory(path, ownerLock);
        }
        catch
        {
            ownerLock?.Dispose();
            Directory.Delete(starting, recursive: true);
            throw;
        }
    }

    /// <summary>Deletes the run directories under <paramref name="parent"/> whose owner process is gone; returns how many.</summary>
    internal static int RemoveLeftovers(string parent)
    {
        if (!Directory.Exists(parent))
            return 0;
        int removed = 0;
        var runs = Directory.EnumerateDirectories(parent, Prefix + "*").Where(OwnerIsGone);
        // A starting directory is only ever a few microseconds old unless its process died in between.
        var starting = Directory.EnumerateDirectories(parent, StartingPrefix + "*").Where(d => OwnerPid(d, StartingPrefix) is { } pid && !IsRunning(pid));
        foreach (string directory in runs.Concat(starting).ToList())
        {
            try
            {
                Directory.Delete(directory, recursive: true);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another run removing it at the same moment, or not ours to remove: either way it is not this run's to fix.
            }
        }
        return removed;
    }

    private static bool OwnerIsGone(string directory)
    {
        if (OwnerPid(directory, Prefix) is not { } pid)
            return false; // not a name this class writes
        if (!IsRunning(pid))
            return true;
        try
        {
            // The owner holds the lock for as long as it trains; a lock we can take has no owner.
            using var probe = new FileStream(Path.Combine(directory, LockFileName), FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // held by its owner
        }
    }

    private static int? OwnerPid(string directory, string prefix)
    {
        string name = Path.GetFileName(directory).Substring(prefix.Length);
        int dash = name.IndexOf('-');
        return dash > 0 && int.TryParse(name.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _lock.Dispose();
        try
        {
            Directory.Delete(FullPath, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
