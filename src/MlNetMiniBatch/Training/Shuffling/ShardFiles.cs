namespace MlNetMiniBatch.Training.Shuffling;

/// <summary>A set of shard files being written, each through its own small buffer; files are created on first use,
/// so shards that get no row do not exist.</summary>
internal sealed class ShardFiles(Func<string> nextPath, int count, int bufferBytes) : IDisposable
{
    private readonly FileStream?[] _files = new FileStream?[count];
    private readonly string[] _paths = new string[count];
    private readonly long[] _bytes = new long[count];
    private readonly long[] _rows = new long[count];

    public int Count => count;

    public void Write(int shard, ReadOnlySpan<byte> record)
    {
        var file = _files[shard];
        if (file is null)
        {
            _paths[shard] = nextPath();
            file = _files[shard] = new FileStream(_paths[shard], FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferBytes);
        }
        file.Write(record);
        _bytes[shard] += record.Length;
        _rows[shard]++;
    }

    /// <summary>Closes the files (a full disk throws here at the latest) and returns the shards written.</summary>
    public List<Shard> Close()
    {
        Dispose();
        return Enumerable.Range(0, count).Where(i => _rows[i] > 0).Select(i => new Shard(_paths[i], _bytes[i], _rows[i])).ToList();
    }

    public void Dispose()
    {
        foreach (var file in _files)
            file?.Dispose();
    }
}

/// <summary>One shard file: its path, size and row count.</summary>
internal readonly record struct Shard(string Path, long Bytes, long Rows);
