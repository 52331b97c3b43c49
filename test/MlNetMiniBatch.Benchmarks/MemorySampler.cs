using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// Samples this process's memory every few milliseconds on a thread of its own and keeps the peaks per phase, so a
/// streaming child can say where its peak resident set comes from: the managed heap (objects alive after the last
/// collection and garbage waiting for the next one), the memory the GC has committed, or memory outside the GC
/// (runtime, JIT code, native buffers). VmHWM alone says only how high, not why.
/// </summary>
internal sealed class MemorySampler : IDisposable
{
    private readonly Thread _thread;
    private readonly Dictionary<string, Peaks> _phases = [];
    private volatile bool _stop;
    private string _phase = "start";

    // /proc/self/statm read through one handle into one buffer: a sampler that allocated per sample would itself grow
    // the heap it measures (File.ReadLines of /proc/self/status, 200 times a second, did).
    private readonly FileStream? _statm = File.Exists("/proc/self/statm") ? new FileStream("/proc/self/statm", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1) : null;
    private readonly byte[] _statmText = new byte[128];
    private long _samplerAllocated;

    public MemorySampler(TimeSpan interval)
    {
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                Sample();
                _samplerAllocated = GC.GetAllocatedBytesForCurrentThread();
                Thread.Sleep(interval);
            }
        }) { IsBackground = true, Name = "memory sampler" };
        _thread.Start();
    }

    private long ResidentBytes()
    {
        if (_statm is null) return 0;
        lock (_statm)
        {
            _statm.Seek(0, SeekOrigin.Begin);
            int n = _statm.Read(_statmText);
            // "size resident shared ...", in pages
            int i = 0;
            while (i < n && _statmText[i] != ' ') i++;
            long pages = 0;
            for (i++; i < n && _statmText[i] is >= (byte)'0' and <= (byte)'9'; i++)
                pages = pages * 10 + (_statmText[i] - '0');
            return pages * Environment.SystemPageSize;
        }
    }

    /// <summary>Samples the phase that ends, then counts the next samples under <paramref name="name"/>.</summary>
    public void Phase(string name)
    {
        Sample();
        lock (_phases) _phase = name;
    }

    private void Sample()
    {
        long rss = ResidentBytes();
        long heap = GC.GetTotalMemory(forceFullCollection: false);
        long committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
        lock (_phases)
        {
            ref Peaks peaks = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_phases, _phase, out _);
            peaks = new Peaks(Math.Max(peaks.Rss, rss), Math.Max(peaks.Heap, heap), Math.Max(peaks.Committed, committed),
                peaks.Rss >= rss ? peaks.HeapAtRssPeak : heap);
        }
    }

    /// <summary>Per phase: peak RSS, peak managed heap (live + garbage), peak GC-committed bytes, and the heap when the
    /// RSS peaked. Plus the collections per generation and the bytes the GC found alive in its last full collection.</summary>
    public Dictionary<string, object?> Report()
    {
        Sample();
        var record = new Dictionary<string, object?>();
        lock (_phases)
            foreach (var (name, p) in _phases)
            {
                record[$"{name}_peak_rss_bytes"] = p.Rss;
                record[$"{name}_peak_heap_bytes"] = p.Heap;
                record[$"{name}_peak_gc_committed_bytes"] = p.Committed;
                record[$"{name}_heap_at_rss_peak_bytes"] = p.HeapAtRssPeak;
            }
        record["gc_collections"] = $"{GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}";
        GCMemoryInfo full = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        record["last_full_gc_heap_bytes"] = full.HeapSizeBytes;
        record["last_full_gc_promoted_bytes"] = full.PromotedBytes;
        record["gc_allocated_bytes"] = GC.GetTotalAllocatedBytes(precise: true);
        record["sampler_allocated_bytes"] = _samplerAllocated;
        using var self = Process.GetCurrentProcess();
        record["private_memory_bytes"] = self.PrivateMemorySize64;
        return record;
    }

    /// <summary>A child's peak in MB ("–" when it did not report it).</summary>
    public static string Megabytes(JsonElement child, string name) =>
        child.Number(name) is { } v ? (v / 1048576.0).ToString("F0", CultureInfo.InvariantCulture) : "–";

    /// <summary>A phase's peak managed heap and peak GC-committed memory, "heap / committed" in MB.</summary>
    public static string HeapAndCommitted(JsonElement child, string phase) =>
        $"{Megabytes(child, $"{phase}_peak_heap_bytes")} / {Megabytes(child, $"{phase}_peak_gc_committed_bytes")}";

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        _statm?.Dispose();
    }

    private readonly record struct Peaks(long Rss, long Heap, long Committed, long HeapAtRssPeak);
}
