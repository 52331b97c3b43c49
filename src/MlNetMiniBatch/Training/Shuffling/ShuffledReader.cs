using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Training.Shuffling;

/// <summary>
/// The second level of the streaming shuffle, one epoch: the shards are read in a new random order as one byte
/// stream, as many whole shards at a time as the memory limit holds (a group), and each group is fully shuffled in
/// memory before its rows are handed out. A shard is never larger than a group (<see cref="ShuffleStore"/> splits larger
/// ones) and never cut, so a group is a random mix of random shards, and which shards share a group changes with the
/// shard order: rows meet
/// different neighbours every epoch. When all the data fits, the one group is a uniform permutation. Every choice is a
/// hash of (seed stream, epoch key, position), so an epoch's order does not depend on timing, threads or what ran before.
/// </summary>
internal sealed class ShuffledReader : IBatchReader
{
    private readonly ShuffleStore _store;
    private readonly byte[] _buffer;
    private readonly Shard[] _shards;
    private readonly ulong _epochStream;
    private int[] _offsets;
    private int _rows, _next, _nextShard;
    private ulong _group;

    /// <param name="epochKey">What distinguishes this epoch: the shuffle seed the epoch runner derives from (seed, epoch).</param>
    public ShuffledReader(ShuffleStore store, int epochKey)
    {
        _store = store;
        _buffer = store.ReadBuffer();
        _offsets = store.RowIndex;
        _epochStream = CounterRandom.Hash(store.OrderStream, (ulong)(uint)epochKey);
        var order = Enumerable.Range(0, store.Shards.Count).ToArray();
        Permute(order, order.Length, CounterRandom.Hash(_epochStream, ulong.MaxValue));
        _shards = order.Select(i => store.Shards[i]).ToArray();
    }

    public long SkippedRows => _store.SkippedRows;

    public bool Read(Batch batch, int batchSize)
    {
        int d = batch.FeatureCount;
        int count = 0;
        while (count < batchSize && (_next < _rows || LoadGroup()))
        {
            if (count == batch.Capacity)
                batch.Grow((int)Math.Min(batchSize, 2L * batch.Capacity));
            ShuffleRecord.Decode(_buffer.AsSpan(_offsets[_next++]), batch.Features.AsSpan(count * d, d),
                batch.TargetRow(count), out batch.Weights[count]);
            count++;
        }
        batch.Count = count;
        return count > 0;
    }

    /// <summary>Invalid rows were left out when the copy was dealt, alike on every rank, so every row in it counts.</summary>
    public bool CanPassOver => true;

    public int PassOver(int rows)
    {
        int passed = 0;
        while (passed < rows && (_next < _rows || LoadGroup()))
        {
            int step = Math.Min(rows - passed, _rows - _next);
            _next += step;
            passed += step;
        }
        return passed;
    }

    /// <summary>Reads the next shards that fit whole into the buffer, indexes their rows and shuffles the index.</summary>
    private bool LoadGroup()
    {
        int filled = 0;
        while (_nextShard < _shards.Length && filled + _shards[_nextShard].Bytes <= _buffer.Length)
        {
            using var file = new FileStream(_shards[_nextShard++].Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            int length = (int)file.Length;
            file.ReadExactly(_buffer, filled, length);
            filled += length;
        }
        _rows = ShuffleRecord.Index(_buffer.AsSpan(0, filled), _store.FeatureCount, _store.TargetCount, ref _offsets, out int end);
        _store.RowIndex = _offsets; // grown by the first epoch, reused by the next
        _next = 0;
        if (end != filled || (_rows == 0 && _nextShard < _shards.Length))
            throw new InvalidDataException($"The temporary files of the streaming shuffle in '{_store.DirectoryPath}' were changed while training ran.");
        if (_rows == 0)
            return false;
        Permute(_offsets, _rows, CounterRandom.Hash(_epochStream, _group++));
        return true;
    }

    /// <summary>Fisher–Yates over the first <paramref name="count"/> items, each swap a hash of its position.</summary>
    internal static void Permute(int[] items, int count, ulong stream)
    {
        for (int i = count - 1; i > 0; i--)
        {
            int j = (int)(CounterRandom.Hash(stream, (ulong)i) % (ulong)(i + 1));
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Nothing to release: each shard file is closed as soon as it has been read into the group.</summary>
    public void Dispose()
    {
    }
}
