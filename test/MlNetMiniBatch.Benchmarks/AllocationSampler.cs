using System.Diagnostics.Tracing;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// Which types a process allocates, from the runtime's own allocation sampling (the GCAllocationTick event, raised
/// about once per 100 KB allocated, naming the type of the object that crossed the mark): so a read loop that grows
/// the heap can say whose objects fill it without a profiler on the machine.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const int AllocationTickEvent = 10;
    private const long GcKeyword = 0x1;
    private readonly Dictionary<string, long> _bytesByType = [];

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)GcKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventId != AllocationTickEvent || e.Payload is null || e.PayloadNames is null)
            return;
        int type = e.PayloadNames.IndexOf("TypeName"), amount = e.PayloadNames.IndexOf("AllocationAmount64");
        if (type < 0 || amount < 0)
            return;
        string name = e.Payload[type] as string ?? "?";
        long bytes = Convert.ToInt64(e.Payload[amount]);
        lock (_bytesByType)
            _bytesByType[name] = _bytesByType.GetValueOrDefault(name) + bytes;
    }

    /// <summary>The types that took most of the sampled bytes, "type: MB" (sampled bytes approximate allocated bytes).</summary>
    public string Top(int count)
    {
        lock (_bytesByType)
            return string.Join("; ", _bytesByType.OrderByDescending(p => p.Value).Take(count).Select(p => $"{p.Key}: {p.Value / 1048576.0:F1} MB"));
    }
}
