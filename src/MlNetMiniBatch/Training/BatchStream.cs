using System.Runtime.ExceptionServices;

namespace MlNetMiniBatch.Training;

/// <summary>
/// The batches of one pass, in cursor order. With prefetching, a reader thread fills the next batch from the cursor
/// while the caller computes on the current one (two batch buffers, handed back and forth); the cursor is only ever
/// touched by that one thread, and the order is the cursor's, so results do not depend on the overlap.
/// </summary>
internal sealed class BatchStream : IDisposable
{
    private readonly DataSource _source;
    private readonly IBatchReader _reader;
    private readonly int _batchSize;
    private readonly bool _gather;
    private readonly Batch[] _slots;
    private readonly bool[] _hasRows = new bool[2];
    private readonly SemaphoreSlim[] _filled = [new(0), new(0)];
    private readonly SemaphoreSlim[] _free = [new(1), new(1)];
    private readonly Thread? _thread;
    private volatile bool _stopping;
    private ExceptionDispatchInfo? _error;
    private int _current = -1;

    /// <param name="gather">Whether the stream itself copies pending cached features (<see cref="Batch.PendingFeatures"/>), on
    /// its reader thread when it prefetches; otherwise the caller gathers them.</param>
    public BatchStream(DataSource source, IBatchReader reader, Batch first, Batch second, int batchSize, bool prefetch, bool gather = false)
    {
        _gather = gather;
        _source = source;
        _reader = reader;
        _batchSize = batchSize;
        _slots = [first, second];
        if (prefetch)
        {
            _thread = new Thread(ReadAhead) { IsBackground = true, Name = "MlNetMiniBatch batch reader" };
            _thread.Start();
        }
    }

    /// <summary>Rows skipped as invalid; final once the stream has ended.</summary>
    public long SkippedRows => _reader.SkippedRows;

    /// <summary>The next batch, valid until the following call; false at the end of the pass.</summary>
    public bool Next(out Batch batch)
    {
        if (_thread is null)
        {
            batch = _slots[0];
            return ReadInto(batch);
        }
        if (_current >= 0)
            _free[_current].Release();
        _current = (_current + 1) & 1;
        _filled[_current].Wait();
        _error?.Throw();
        batch = _slots[_current];
        return _hasRows[_current];
    }

    private void ReadAhead()
    {
        for (int slot = 0; ; slot ^= 1)
        {
            _free[slot].Wait();
            if (_stopping)
                return;
            try
            {
                _hasRows[slot] = ReadInto(_slots[slot]);
            }
            catch (Exception e)
            {
                _error = ExceptionDispatchInfo.Capture(e);
                _hasRows[slot] = false;
            }
            _filled[slot].Release();
            if (!_hasRows[slot])
                return;
        }
    }

    private bool ReadInto(Batch batch)
    {
        bool any = _source.Read(_reader, batch, _batchSize);
        if (_gather)
            _source.Gather(batch, threads: 1);
        return any;
    }

    public void Dispose()
    {
        if (_thread is not null)
        {
            _stopping = true;
            _free[0].Release();
            _free[1].Release();
            _thread.Join();
        }
        _reader.Dispose();
        foreach (var semaphore in _filled.Concat(_free))
            semaphore.Dispose();
    }
}
