using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Training.Shuffling;

/// <summary>
/// The first level of the streaming shuffle: one pass over the data deals every valid row, at random (a hash of the
/// seed and the row's position), into one of up to 256 shard files, so that each shard is a random sample of the
/// data whatever order the source had. The pass also counts the rows, so iterations and ETA are known from epoch 1.
/// A shard larger than an epoch's group (data over 256 × the memory limit, or a tiny limit) is dealt again into
/// smaller ones, so every group is a mix of whole random shards. <see cref="ShuffledReader"/> is the second level.
/// The files are one copy of the feature data; they are deleted with this object.
/// </summary>
internal sealed class ShuffleStore : IDisposable
{
    private const int MaxShards = 256;
    private const int WriteBufferBytes = 16 << 10;
    private const int MinimumMemoryLimit = 16 << 10;

    private readonly ShuffleDirectory _directory;
    private readonly ulong _dealStream;
    private List<Shard> _shards = [];
    private byte[]? _readBuffer;
    private int _nextFile;

    private ShuffleStore(ShuffleDirectory directory, int featureCount, int targetCount, long memoryLimit, ulong orderStream)
    {
        _directory = directory;
        FeatureCount = featureCount;
        TargetCount = targetCount;
        MemoryLimit = memoryLimit;
        OrderStream = orderStream;
        _dealStream = CounterRandom.Hash(orderStream, ulong.MaxValue);
    }

    public int FeatureCount { get; }

    /// <summary>Target values per row (the label's vector size, or 1).</summary>
    public int TargetCount { get; }
    public long MemoryLimit { get; }
    public long Rows { get; private set; }
    public long SkippedRows { get; private set; }

    /// <summary>Size of the copy on disk.</summary>
    public long DataBytes { get; private set; }

    /// <summary>Bytes written in all: the copy, plus the re-deal of shards larger than a group.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Shards that had to be dealt again because they were larger than a group.</summary>
    public int SplitShards { get; private set; }

    public IReadOnlyList<Shard> Shards => _shards;

    public string DirectoryPath => _directory.FullPath;

    /// <summary>Where each epoch's order comes from: a stream derived from the seed.</summary>
    public ulong OrderStream { get; }

    /// <summary>Where an epoch keeps the buffer offsets of its group's rows; grown by the first epoch, reused by the next.</summary>
    public int[] RowIndex { get; set; } = new int[1024];

    /// <summary>Shards are as many as the write buffers that fit in half the memory limit, at most 256.</summary>
    private static int ShardsFor(long memoryLimit) => (int)Math.Clamp(memoryLimit / (2 * WriteBufferBytes), 2, MaxShards);

    /// <summary>The smallest limit that holds a few rows and the deal's buffers.</summary>
    public static long MinimumLimit(int featureCount, int targetCount = 1) =>
        Math.Max(MinimumMemoryLimit, 4L * ShuffleRecord.MaxBytes(featureCount, targetCount));

    /// <summary>Reads every batch <paramref name="read"/> yields (one cursor pass, in cursor order) and deals its rows
    /// into shard files under <paramref name="parentDirectory"/>. IO failures come back as the exceptions the file
    /// system throws; <see cref="DataSource"/> turns them into a message naming the option.</summary>
    public static ShuffleStore Deal(Func<Batch, bool> read, Func<long> skippedRows, int featureCount, long memoryLimit,
        string parentDirectory, int seed, int targetCount = 1)
    {
        var directory = ShuffleDirectory.Create(parentDirectory);
        var store = new ShuffleStore(directory, featureCount, targetCount, memoryLimit, CounterRandom.Hash((ulong)(uint)seed, 0x5417F1E));
        try
        {
            store.DealRows(read);
            store.SkippedRows = skippedRows();
            store.SplitLargeShards();
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>The largest record of a row (dense features).</summary>
    private int RecordBytes => ShuffleRecord.MaxBytes(FeatureCount, TargetCount);

    private string NextPath() => Path.Combine(_directory.FullPath, $"shard-{_nextFile++:D6}.bin");

    private void DealRows(Func<Batch, bool> read)
    {
        int d = FeatureCount;
        int shardCount = ShardsFor(MemoryLimit);
        int batchRows = (int)Math.Clamp(MemoryLimit / 4 / (4L * Math.Max(1, d)), 1, 256);
        var batch = new Batch(batchRows, d, TargetCount);
        var record = new byte[RecordBytes];
        using var files = new ShardFiles(NextPath, shardCount, (int)Math.Min(WriteBufferBytes, MemoryLimit / (2 * shardCount)));
        while (read(batch))
        {
            for (int i = 0; i < batch.Count; i++)
            {
                int length = ShuffleRecord.Encode(batch.Features.AsSpan(i * d, d), batch.TargetRow(i), batch.Weights[i], record);
                files.Write(Pick(_dealStream, (ulong)Rows, shardCount), record.AsSpan(0, length));
                BytesWritten += length;
                Rows++;
            }
        }
        _shards = files.Close();
        DataBytes = BytesWritten;
    }

    /// <summary>Deals every shard larger than a group into smaller random parts, until none is (each pass halves a
    /// shard at least, on average); at most the memory limit is used: half to read, half for the write buffers.</summary>
    private void SplitLargeShards()
    {
        long group = GroupBytes();
        var pending = new Queue<Shard>(_shards);
        var done = new List<Shard>();
        byte[]? buffer = null;
        int[] offsets = new int[1024];
        for (ulong split = 0; pending.TryDequeue(out var shard);)
        {
            if (shard.Bytes <= group || shard.Rows <= 1)
            {
                done.Add(shard);
                continue;
            }
            buffer ??= new byte[Math.Max(MemoryLimit / 2, RecordBytes)];
            int parts = (int)Math.Clamp(2 * shard.Bytes / group, 2, ShardsFor(MemoryLimit));
            ulong stream = CounterRandom.Hash(_dealStream, split++);
            var records = new RecordBuffer(buffer, buffer.Length, FeatureCount, TargetCount);
            using (var input = new ShardSequence([shard.Path]))
            using (var files = new ShardFiles(NextPath, parts, (int)Math.Min(WriteBufferBytes, MemoryLimit / (2 * parts))))
            {
                long index = 0;
                for (int n; (n = records.Refill(input, ref offsets)) > 0;)
                    for (int i = 0; i < n; i++)
                    {
                        var rest = buffer.AsSpan(offsets[i]);
                        int length = ShuffleRecord.Length(rest, FeatureCount, TargetCount);
                        files.Write(Pick(stream, (ulong)index++, parts), rest.Slice(0, length));
                        BytesWritten += length;
                    }
                foreach (var part in files.Close())
                    pending.Enqueue(part);
            }
            File.Delete(shard.Path);
            SplitShards++;
        }
        _shards = done;
    }

    private static int Pick(ulong stream, ulong position, int count) => (int)(((CounterRandom.Hash(stream, position) >> 32) * (ulong)count) >> 32);

    /// <summary>Bytes of rows an epoch shuffles at once: the memory limit less the 4-byte index each row takes, no
    /// larger than the data, no smaller than one row.</summary>
    private long GroupBytes()
    {
        double meanRecord = Rows == 0 ? RecordBytes : (double)DataBytes / Rows;
        long size = (long)(MemoryLimit * meanRecord / (meanRecord + 4));
        return Math.Max(Math.Min(Math.Min(size, DataBytes), Array.MaxLength), RecordBytes);
    }

    /// <summary>The buffer of one group: made once and reused by every epoch.</summary>
    public byte[] ReadBuffer() => _readBuffer ??= new byte[GroupBytes()];

    public void Dispose() => _directory.Dispose();
}
