using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Training.Shuffling;

/// <summary>
/// The second level of the streaming shuffle, one epoch: the shards are read in a new random order as one byte
/// stream, cut into groups as large as the memory limit allows, and each group is fully shuffled in memory before
/// its rows are handed out. A group spans many shards when the data is much smaller than 256 × the limit, and which
/// shards share a group changes with the shard order, so rows meet different neighbours every epoch; when all the
/// data fits, the one group is a uniform permutation. Every choice is a hash of (seed stream, epoch key, position),
/// so an epoch's order does not depend on timing, threads or what ran before.
/// </summary>
internal sealed class ShuffledReader : IBatchReader
{
    private readonly ShuffleStore _store;
    private readonly byte[] _buffer;
    private readonly int[] _shardOrder;
    private readonly ulong _epochStream;
    private int[] _offsets;
    private int _rows, _next, _filled, _parsedEnd, _shardsOpened;
    private ulong _group;
    private FileStream? _file;

    /// <param name="epochKey">What distinguishes this epoch: the shuffle seed the epoch runner derives from (seed, epoch).</param>
    public ShuffledReader(ShuffleStore store, int epochKey)
    {
        _store = store;
        _buffer = store.ReadBuffer();
        _offsets = store.RowIndex;
        _epochStream = CounterRandom.Hash(store.OrderStream, (ulong)(uint)epochKey);
        _shardOrder = Enumerable.Range(0, store.ShardCount).ToArray();
        Permute(_shardOrder, _shardOrder.Length, CounterRandom.Hash(_epochStream, ulong.MaxValue));
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
                out batch.Targets[count], out batch.Weights[count]);
            count++;
        }
        batch.Count = count;
        return count > 0;
    }

    /// <summary>Fills the buffer with the next bytes of the shard stream (after the part of a record the last group
    /// left over), indexes the whole records and shuffles the index. False at the end of the epoch.</summary>
    private bool LoadGroup()
    {
        int carried = _filled - _parsedEnd;
        Buffer.BlockCopy(_buffer, _parsedEnd, _buffer, 0, carried);
        _filled = carried;
        while (_filled < _buffer.Length)
        {
            if (_file is null)
            {
                if (_shardsOpened == _shardOrder.Length)
                    break;
                _file = _store.OpenShard(_shardOrder[_shardsOpened++]);
                continue;
            }
            int read = _file.Read(_buffer, _filled, _buffer.Length - _filled);
            if (read > 0)
            {
                _filled += read;
                continue;
            }
            _file.Dispose();
            _file = null;
        }

        _rows = 0;
        _next = 0;
        int position = 0;
        for (int length; (length = ShuffleRecord.Length(_buffer.AsSpan(position, _filled - position), _store.FeatureCount)) > 0; position += length)
        {
            if (_rows == _offsets.Length)
            {
                Array.Resize(ref _offsets, 2 * _offsets.Length);
                _store.RowIndex = _offsets;
            }
            _offsets[_rows++] = position;
        }
        _parsedEnd = position;
        if (_rows == 0)
        {
            if (_filled > 0)
                throw new InvalidDataException($"A temporary file of the streaming shuffle in '{_store.DirectoryPath}' ends in the middle of a row; it was changed while training ran.");
            return false;
        }
        Permute(_offsets, _rows, CounterRandom.Hash(_epochStream, _group++));
        return true;
    }

    /// <summary>Fisher–Yates over the first <paramref name="count"/> items, each swap a hash of its position.</summary>
    private static void Permute(int[] items, int count, ulong stream)
    {
        for (int i = count - 1; i > 0; i--)
        {
            int j = (int)(CounterRandom.Hash(stream, (ulong)i) % (ulong)(i + 1));
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    public void Dispose() => _file?.Dispose();
}
