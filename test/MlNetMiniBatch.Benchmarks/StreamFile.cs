using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// A file format of the streaming section: the Fashion-MNIST training set written <c>multiple</c> times, and the view
/// that reads it back. "binary" is <see cref="BinaryRecordDataView"/>'s fixed records; "text" is a CSV (label 0..9,
/// then the 784 pixels / 255 with up to 3 decimals) read with ML.NET's TextLoader, the loader most users start from.
/// Neither view can shuffle, so training goes through the streaming shuffle. Files are written under a temporary name
/// first, so an interrupted run leaves no short file behind.
/// </summary>
internal abstract class StreamFile
{
    public static readonly StreamFile[] All = [new BinaryFile(), new TextFile()];

    public abstract string Name { get; }

    public static StreamFile Named(string name) =>
        All.FirstOrDefault(f => f.Name == name) ?? throw new ArgumentException($"Unknown stream file format '{name}'.");

    public string PathFor(string directory, int rows, int multiple) => Path.Combine(directory, $"fashion-train-{rows}-x{multiple}.{Extension}");

    protected abstract string Extension { get; }

    /// <summary>The file's exact length, to tell a complete file from one cut short.</summary>
    public abstract long Bytes(byte[] labels, byte[] images, int rows, int multiple);

    public void Generate(string path, byte[] labels, byte[] images, int rows, int multiple)
    {
        string temporary = path + ".partial";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            byte[] copy = OneCopy(labels, images, rows);
            for (int m = 0; m < multiple; m++)
                stream.Write(copy);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The training set once, in this format.</summary>
    protected abstract byte[] OneCopy(byte[] labels, byte[] images, int rows);

    public abstract IDataView Open(MLContext ml, string path);

    private sealed class BinaryFile : StreamFile
    {
        public override string Name => "binary";
        protected override string Extension => "bin";

        public override long Bytes(byte[] labels, byte[] images, int rows, int multiple) => (long)rows * BinaryRecordDataView.RecordSize * multiple;

        protected override byte[] OneCopy(byte[] labels, byte[] images, int rows)
        {
            var copy = new byte[(long)rows * BinaryRecordDataView.RecordSize];
            for (int r = 0; r < rows; r++)
            {
                copy[(long)r * BinaryRecordDataView.RecordSize] = labels[r];
                Buffer.BlockCopy(images, r * BinaryRecordDataView.Pixels, copy, r * BinaryRecordDataView.RecordSize + 1, BinaryRecordDataView.Pixels);
            }
            return copy;
        }

        public override IDataView Open(MLContext ml, string path) => new BinaryRecordDataView(path);
    }

    private sealed class TextFile : StreamFile
    {
        // The text of each pixel value, so that writing a row formats nothing.
        private static readonly byte[][] PixelText = Enumerable.Range(0, 256)
            .Select(p => Encoding.ASCII.GetBytes("," + (p / 255f).ToString("0.###", CultureInfo.InvariantCulture))).ToArray();

        public override string Name => "text";
        protected override string Extension => "csv";

        public override long Bytes(byte[] labels, byte[] images, int rows, int multiple)
        {
            long once = rows * 2L; // label digit and newline
            foreach (byte p in images.AsSpan(0, rows * BinaryRecordDataView.Pixels))
                once += PixelText[p].Length;
            return once * multiple;
        }

        protected override byte[] OneCopy(byte[] labels, byte[] images, int rows)
        {
            using var copy = new MemoryStream();
            for (int r = 0; r < rows; r++)
            {
                copy.WriteByte((byte)('0' + labels[r]));
                foreach (byte p in images.AsSpan(r * BinaryRecordDataView.Pixels, BinaryRecordDataView.Pixels))
                    copy.Write(PixelText[p]);
                copy.WriteByte((byte)'\n');
            }
            return copy.ToArray();
        }

        // TextLoader reads a key from text 0-based: "0" is the first class, key 1 (as the binary view's labels).
        public override IDataView Open(MLContext ml, string path) => ml.Data.LoadFromTextFile(path,
            [
                new TextLoader.Column("Label", DataKind.UInt32, 0) { KeyCount = new KeyCount(BenchContext.Classes) },
                new TextLoader.Column("Features", DataKind.Single, 1, BinaryRecordDataView.Pixels),
            ], separatorChar: ',');
    }
}
