using System.Diagnostics;

namespace MlNetMiniBatch.Examples;

internal static class PeakMemory
{
    /// <summary>The process's peak resident memory in bytes: VmHWM on Linux (what the kernel counts), else the
    /// runtime's peak working set.</summary>
    public static long Bytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            string? line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            if (line is not null && long.TryParse(line["VmHWM:".Length..].Replace("kB", "").Trim(), out long kilobytes))
                return kilobytes * 1024;
        }
        return Process.GetCurrentProcess().PeakWorkingSet64;
    }
}
