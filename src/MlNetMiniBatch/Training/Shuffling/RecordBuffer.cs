namespace MlNetMiniBatch.Training.Shuffling;

/// <summary>
/// Whole records read from a sequence of files through one byte buffer: each <see cref="Refill"/> keeps the part
/// of a record the previous fill cut off, reads until the buffer (up to <c>capacity</c> bytes) is full or the files
/// are exhausted, and indexes the records that arrived whole. The split of oversized shards reads them so.
/// </summary>
internal sealed class RecordBuffer(byte[] buffer, int capacity, int featureCount, int targetCount)
{
    private int _filled, _parsedEnd;

    public byte[] Bytes => buffer;

    /// <summary>Refills and writes the offsets of the whole records to <paramref name="offsets"/> (grown as needed);
    /// returns how many there are, 0 at the end of the files.</summary>
    public int Refill(ShardSequence files, ref int[] offsets)
    {
        int carried = _filled - _parsedEnd;
        Buffer.BlockCopy(buffer, _parsedEnd, buffer, 0, carried);
        _filled = carried;
        int read;
        while (_filled < capacity && (read = files.Read(buffer, _filled, capacity - _filled)) > 0)
            _filled += read;

        int rows = ShuffleRecord.Index(buffer.AsSpan(0, _filled), featureCount, targetCount, ref offsets, out _parsedEnd);
        if (rows == 0 && _filled > 0)
            throw new InvalidDataException($"A temporary file of the streaming shuffle ({files.Description}) ends in the middle of a row; it was changed while training ran.");
        return rows;
    }
}

/// <summary>Shard files read one after the other as one stream.</summary>
internal sealed class ShardSequence(IReadOnlyList<string> paths) : IDisposable
{
    private int _next;
    private FileStream? _file;

    public string Description => paths.Count == 1 ? paths[0] : $"{paths.Count} shards";

    public int Read(byte[] buffer, int offset, int count)
    {
        while (true)
        {
            if (_file is null)
            {
                if (_next == paths.Count)
                    return 0;
                _file = new FileStream(paths[_next++], FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            }
            int read = _file.Read(buffer, offset, count);
            if (read > 0)
                return read;
            _file.Dispose();
            _file = null;
        }
    }

    public void Dispose() => _file?.Dispose();
}
