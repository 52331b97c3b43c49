using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Training.Shuffling;

/// <summary>
/// The first level of the streaming shuffle: one pass over the data deals every valid row, at random (a hash of the
/// seed and the row's position), into one of up to 256 shard files, so that each shard is a random sample of the
/// data whatever order the source had. The pass also counts the rows, so iterations and ETA are known from epoch 1.
/// <see cref="ShuffledReader"/> is the second level. The files are one copy of the feature data; they are deleted
/// with this object.
/// </summary>
internal sealed class ShuffleStore : IDisposable
{
    private const int MaxShards = 256;
    private const int WriteBufferBytes = 16 << 10;
    private const int MinimumMemoryLimit = 16 << 10;

    private readonly ShuffleDirectory _directory;
    private readonly long[] _shardBytes;
    private byte[]? _readBuffer;

    private ShuffleStore(ShuffleDirectory directory, int shards, int featureCount, long memoryLimit, ulong orderStream)
    {
        _directory = directory;
        _shardBytes = new long[shards];
        FeatureCount = featureCount;
        MemoryLimit = memoryLimit;
        OrderStream = orderStream;
    }

    public int FeatureCount { get; }
    public long MemoryLimit { get; }
    public int ShardCount => _shardBytes.Length;
    public long Rows { get; private set; }
    public long BytesWritten { get; private set; }
    public long SkippedRows { get; private set; }
    public long LargestShardBytes => _shardBytes.Length == 0 ? 0 : _shardBytes.Max();
    public string DirectoryPath => _directory.FullPath;

    /// <summary>Where each epoch's order comes from: a stream derived from the seed.</summary>
    public ulong OrderStream { get; }

    /// <summary>Shards are as many as the write buffers that fit in half the memory limit, at most 256.</summary>
    public static int ShardsFor(long memoryLimit) => (int)Math.Clamp(memoryLimit / (2 * WriteBufferBytes), 2, MaxShards);

    /// <summary>The smallest limit that holds one row and the deal's buffers.</summary>
    public static long MinimumLimit(int featureCount) => Math.Max(MinimumMemoryLimit, 4L * ShuffleRecord.MaxBytes(featureCount));

    /// <summary>Reads every batch <paramref name="read"/> yields (one cursor pass, in cursor order) and deals its rows
    /// into shard files under <paramref name="parentDirectory"/>. IO failures come back as the exceptions the file
    /// system throws; <see cref="DataSource"/> turns them into a message naming the option.</summary>
    public static ShuffleStore Deal(Func<Batch, bool> read, Func<long> skippedRows, int featureCount, long memoryLimit,
        string parentDirectory, int seed)
    {
        int shards = ShardsFor(memoryLimit);
        var directory = ShuffleDirectory.Create(parentDirectory);
        var store = new ShuffleStore(directory, shards, featureCount, memoryLimit, CounterRandom.Hash((ulong)(uint)seed, 0x5417F1E));
        try
        {
            store.Write(read, featureCount);
            store.SkippedRows = skippedRows();
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    private void Write(Func<Batch, bool> read, int featureCount)
    {
        int writeBuffer = (int)Math.Min(WriteBufferBytes, MemoryLimit / (2 * ShardCount));
        int batchRows = (int)Math.Clamp(MemoryLimit / 4 / (4L * Math.Max(1, featureCount)), 1, 256);
        var batch = new Batch(batchRows, featureCount);
        var record = new byte[ShuffleRecord.MaxBytes(featureCount)];
        var files = new FileStream?[ShardCount];
        ulong dealStream = CounterRandom.Hash(OrderStream, ulong.MaxValue);
        try
        {
            while (read(batch))
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    int shard = (int)(((CounterRandom.Hash(dealStream, (ulong)Rows) >> 32) * (ulong)ShardCount) >> 32);
                    int length = ShuffleRecord.Encode(batch.Features.AsSpan(i * featureCount, featureCount), batch.Targets[i],
                        batch.Weights[i], record);
                    var file = files[shard] ??= new FileStream(ShardPath(shard), FileMode.CreateNew, FileAccess.Write, FileShare.None, writeBuffer);
                    file.Write(record, 0, length);
                    _shardBytes[shard] += length;
                    BytesWritten += length;
                    Rows++;
                }
            }
        }
        finally
        {
            foreach (var file in files)
                file?.Dispose(); // flushes; a full disk throws here at the latest
        }
    }

    private string ShardPath(int shard) => Path.Combine(_directory.FullPath, $"shard-{shard:D3}.bin");

    /// <summary>Opens a shard for one sequential read, or null when no row was dealt to it.</summary>
    public FileStream? OpenShard(int shard) => _shardBytes[shard] == 0 ? null
        : new FileStream(ShardPath(shard), FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);

    /// <summary>The buffer an epoch fills with rows: the memory limit less the 4-byte index each row takes there, no
    /// larger than the data, no smaller than one row. Made once and reused by every epoch.</summary>
    public byte[] ReadBuffer()
    {
        if (_readBuffer is null)
        {
            double meanRecord = Rows == 0 ? ShuffleRecord.MaxBytes(FeatureCount) : (double)BytesWritten / Rows;
            long size = (long)(MemoryLimit * meanRecord / (meanRecord + 4));
            size = Math.Min(Math.Min(size, BytesWritten), Array.MaxLength);
            _readBuffer = new byte[Math.Max(size, ShuffleRecord.MaxBytes(FeatureCount))];
        }
        return _readBuffer;
    }

    /// <summary>Where an epoch keeps the buffer offsets of its group's rows; grown by the first epoch, reused by the next.</summary>
    public int[] RowIndex { get; set; } = new int[1024];

    public void Dispose() => _directory.Dispose();
}
