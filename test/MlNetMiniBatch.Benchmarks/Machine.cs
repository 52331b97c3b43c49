using System.Globalization;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>What the machine is and how busy other processes keep it (Linux /proc; blanks elsewhere).</summary>
internal static class Machine
{
    public static string CpuName
    {
        get
        {
            try
            {
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal))
                        return line[(line.IndexOf(':') + 1)..].Trim();
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
        }
    }

    public static string LoadAverage
    {
        get
        {
            try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
            catch (IOException) { return "?"; }
        }
    }

    /// <summary>Size of the first core's cache at <paramref name="level"/> as Linux reports it ("1024K"), or "?".</summary>
    public static string CacheSize(int level)
    {
        try
        {
            foreach (string index in Directory.EnumerateDirectories("/sys/devices/system/cpu/cpu0/cache", "index*"))
                if (File.ReadAllText(Path.Combine(index, "level")).Trim() == level.ToString(CultureInfo.InvariantCulture)
                    && File.ReadAllText(Path.Combine(index, "type")).Trim() != "Instruction")
                    return File.ReadAllText(Path.Combine(index, "size")).Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return "?";
    }

    /// <summary>Whether other processes used more than 20% of the machine over the last half second.</summary>
    public static bool Busy
    {
        get
        {
            var before = CpuSnapshot.Take();
            Thread.Sleep(500);
            return before.ForeignShare(CpuSnapshot.Take()) is > 0.2;
        }
    }

    /// <summary>Peak and current resident set size of this process, in bytes (VmHWM, VmRSS); null where unknown.</summary>
    public static (long? Peak, long? Current) ResidentSet()
    {
        long? peak = null, current = null;
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kilobytes(line) * 1024;
                else if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) current = Kilobytes(line) * 1024;
            }
        }
        catch (IOException) { }
        return (peak, current);
    }

    private static long Kilobytes(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}

/// <summary>CPU time of the whole machine and of this process (with its waited-for children), in clock ticks.</summary>
internal readonly record struct CpuSnapshot(long MachineBusy, long MachineTotal, long Own)
{
    public static CpuSnapshot Take()
    {
        try
        {
            string[] cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long F(int i) => i < cpu.Length ? long.Parse(cpu[i], CultureInfo.InvariantCulture) : 0;
            long busy = F(1) + F(2) + F(3) + F(6) + F(7) + F(8);
            long total = busy + F(4) + F(5);
            string stat = File.ReadAllText("/proc/self/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // fields[0] is field 3 (state)
            long own = Enumerable.Range(11, 4).Sum(i => long.Parse(fields[i], CultureInfo.InvariantCulture)); // utime stime cutime cstime
            return new CpuSnapshot(busy, total, own);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return default;
        }
    }

    /// <summary>Share of all cores that other processes used between this snapshot and <paramref name="later"/>; null if unknown.</summary>
    public double? ForeignShare(CpuSnapshot later)
    {
        long total = later.MachineTotal - MachineTotal;
        if (total <= 0) return null;
        return Math.Clamp((double)(later.MachineBusy - MachineBusy - (later.Own - Own)) / total, 0, 1);
    }
}
