// Fashion-MNIST loader for ML.NET, shared by the examples through examples/Common. Uses only Microsoft.ML and
// System.IO.Compression, so another project can also link the file alone:
// <Compile Include="..\Common\FashionMnistData.cs" Link="FashionMnistData.cs" />
//
// Design: the idx files are decoded once into raw byte arrays (784 bytes per image, 7.8 MB per 10,000
// rows) and exposed through a small custom IDataView. Pixels are converted to Single (pixel / 255f) per
// row in the Features getter, into the caller's VBuffer. Label is a key column (UInt32, 1..10 for the
// digits 0..9 of the file, 0 would be "missing") with the class names as KeyValues annotation, so it feeds
// multiclass trainers and MapKeyToValue directly. The view is shufflable (a random permutation per cursor).
using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Examples;

/// <summary>Reads Fashion-MNIST (or any 28×28 10-class idx data set, e.g. MNIST) into an <see cref="IDataView"/>.</summary>
public static class FashionMnistData
{
    /// <summary>Class names in label order 0..9.</summary>
    public static readonly string[] ClassNames =
        { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };

    /// <summary>Image side in pixels.</summary>
    public const int ImageSide = 28;

    /// <summary>Number of pixels, i.e. the length of the Features vector.</summary>
    public const int PixelCount = ImageSide * ImageSide;

    /// <summary>Where the Debian/Ubuntu package dataset-fashion-mnist installs the full set.</summary>
    public const string SystemDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>
    /// Picks the data directory: <paramref name="dataArgument"/> if given (it must hold the four files);
    /// else <see cref="SystemDirectory"/> if it holds them; else <paramref name="shippedSubsetDirectory"/>
    /// if it holds them; else null.
    /// </summary>
    public static string? FindDataDirectory(string? dataArgument, string shippedSubsetDirectory)
    {
        if (!string.IsNullOrEmpty(dataArgument))
        {
            string[] missing = MissingFiles(dataArgument).ToArray();
            if (missing.Length > 0)
                throw new FileNotFoundException($"Data directory '{dataArgument}' lacks: {string.Join(", ", missing)} (plain or .gz).");
            return dataArgument;
        }
        if (HasFiles(SystemDirectory)) return SystemDirectory;
        return HasFiles(shippedSubsetDirectory) ? shippedSubsetDirectory : null;
    }

    /// <summary>Whether <paramref name="directory"/> holds the four idx files (plain or .gz).</summary>
    public static bool HasFiles(string directory) => Directory.Exists(directory) && !MissingFiles(directory).Any();

    /// <summary>
    /// Loads the training (<paramref name="train"/> = true, files train-*) or test (t10k-*) split, optionally
    /// only its first <paramref name="maxRows"/> rows. Columns: Label (Key&lt;UInt32, 10&gt; with class names
    /// as KeyValues) and Features (Vector&lt;Single, 784&gt;, row-major pixels scaled to [0, 1]).
    /// </summary>
    public static IDataView Load(MLContext ml, string directory, bool train, int? maxRows = null)
    {
        ArgumentNullException.ThrowIfNull(ml);
        if (maxRows < 0) throw new ArgumentOutOfRangeException(nameof(maxRows), maxRows, "Must be non-negative.");
        string prefix = train ? "train" : "t10k";
        string imagePath = Resolve(directory, $"{prefix}-images-idx3-ubyte");
        string labelPath = Resolve(directory, $"{prefix}-labels-idx1-ubyte");

        byte[] images = ReadIdx(imagePath, 0x00000803, out int[] imageDims, out int imageOffset);
        if (imageDims[1] != ImageSide || imageDims[2] != ImageSide)
            throw new InvalidDataException($"{imagePath}: images are {imageDims[1]}x{imageDims[2]}, expected {ImageSide}x{ImageSide}.");
        byte[] labels = ReadIdx(labelPath, 0x00000801, out int[] labelDims, out int labelOffset);
        if (imageDims[0] != labelDims[0])
            throw new InvalidDataException($"{imagePath} has {imageDims[0]} images but {labelPath} has {labelDims[0]} labels.");

        int rows = Math.Min(imageDims[0], maxRows ?? int.MaxValue);
        for (int i = 0; i < rows; i++)
            if (labels[labelOffset + i] >= ClassNames.Length)
                throw new InvalidDataException($"{labelPath}: label {labels[labelOffset + i]} at row {i} is outside 0..{ClassNames.Length - 1}.");
        return new IdxDataView(images, imageOffset, labels, labelOffset, rows);
    }

    private static readonly string[] Suffixes = { "", ".gz" };

    private static readonly string[] FileNames =
        { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" };

    private static IEnumerable<string> MissingFiles(string directory) =>
        FileNames.Where(name => !Suffixes.Any(s => File.Exists(Path.Combine(directory, name + s))));

    private static string Resolve(string directory, string name)
    {
        foreach (string suffix in Suffixes)
        {
            string path = Path.Combine(directory, name + suffix);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException($"Neither {name} nor {name}.gz found in '{directory}'.", Path.Combine(directory, name));
    }

    /// <summary>Reads a whole idx file (gunzipping it when it starts with the gzip magic 1F 8B) and checks its header.</summary>
    private static byte[] ReadIdx(string path, int expectedMagic, out int[] dims, out int dataOffset)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B)
        {
            try
            {
                using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                using var plain = new MemoryStream();
                gzip.CopyTo(plain);
                bytes = plain.ToArray();
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: corrupt gzip data ({e.Message}).", e);
            }
        }
        if (bytes.Length < 4)
            throw new InvalidDataException($"{path}: {bytes.Length} bytes, too short for an idx header.");
        int magic = ReadBigEndian(bytes, 0);
        if (magic != expectedMagic)
            throw new InvalidDataException($"{path}: idx magic number 0x{magic:X8}, expected 0x{expectedMagic:X8} " +
                                           $"({(expectedMagic == 0x803 ? "unsigned-byte images, 3 dimensions" : "unsigned-byte labels, 1 dimension")}).");
        int rank = magic & 0xFF;
        dataOffset = 4 + 4 * rank;
        if (bytes.Length < dataOffset)
            throw new InvalidDataException($"{path}: truncated idx header.");
        dims = new int[rank];
        long elements = 1;
        for (int d = 0; d < rank; d++)
        {
            dims[d] = ReadBigEndian(bytes, 4 + 4 * d);
            if (dims[d] < 0) throw new InvalidDataException($"{path}: negative dimension {dims[d]}.");
            elements = Math.Min(elements * dims[d], 1L << 32); // clamp: no overflow, still larger than any array
        }
        long expectedLength = dataOffset + elements;
        if (bytes.Length != expectedLength)
            throw new InvalidDataException($"{path}: {bytes.Length} bytes, but the header [{string.Join(" x ", dims)}] implies {expectedLength}.");
        return bytes;
    }

    private static int ReadBigEndian(byte[] b, int i) => (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];

    /// <summary>In-memory view over decoded idx bytes: Label (key) and Features (784 Singles in [0, 1]).</summary>
    private sealed class IdxDataView : IDataView
    {
        private readonly byte[] _images, _labels;
        private readonly int _imageOffset, _labelOffset, _rows;

        public IdxDataView(byte[] images, int imageOffset, byte[] labels, int labelOffset, int rows)
        {
            (_images, _imageOffset, _labels, _labelOffset, _rows) = (images, imageOffset, labels, labelOffset, rows);
            var keyValues = new DataViewSchema.Annotations.Builder();
            keyValues.Add("KeyValues", new VectorDataViewType(TextDataViewType.Instance, ClassNames.Length),
                (ref VBuffer<ReadOnlyMemory<char>> dst) =>
                    dst = new VBuffer<ReadOnlyMemory<char>>(ClassNames.Length, ClassNames.Select(n => n.AsMemory()).ToArray()));
            var schema = new DataViewSchema.Builder();
            schema.AddColumn("Label", new KeyDataViewType(typeof(uint), ClassNames.Length), keyValues.ToAnnotations());
            schema.AddColumn("Features", new VectorDataViewType(NumberDataViewType.Single, PixelCount));
            Schema = schema.ToSchema();
        }

        public bool CanShuffle => true;
        public DataViewSchema Schema { get; }
        public long? GetRowCount() => _rows;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            int[]? order = null;
            if (rand != null)
            {
                order = Enumerable.Range(0, _rows).ToArray();
                for (int i = _rows - 1; i > 0; i--)
                {
                    int j = rand.Next(i + 1);
                    (order[i], order[j]) = (order[j], order[i]);
                }
            }
            var active = new bool[Schema.Count];
            foreach (DataViewSchema.Column column in columnsNeeded) active[column.Index] = true;
            return new Cursor(this, order, active);
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            new[] { GetRowCursor(columnsNeeded, rand) };

        private sealed class Cursor : DataViewRowCursor
        {
            private readonly IdxDataView _view;
            private readonly int[]? _order;
            private readonly bool[] _active;
            private long _position = -1;
            private int _row = -1; // index in the files of the current row, -1 before the first / after the last
            private bool _done;

            public Cursor(IdxDataView view, int[]? order, bool[] active) => (_view, _order, _active) = (view, order, active);

            public override DataViewSchema Schema => _view.Schema;
            public override long Position => _position;
            public override long Batch => 0;
            public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

            public override bool MoveNext()
            {
                if (!_done && _position + 1 < _view._rows)
                {
                    _position++;
                    _row = _order?[_position] ?? (int)_position;
                    return true;
                }
                (_done, _position, _row) = (true, -1, -1);
                return false;
            }

            public override ValueGetter<DataViewRowId> GetIdGetter() =>
                (ref DataViewRowId id) => id = new DataViewRowId((ulong)CurrentRow(), 0);

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (column.Index < 0 || column.Index >= _active.Length || !_active[column.Index])
                    throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
                Delegate getter = column.Index == 0
                    ? (ValueGetter<uint>)((ref uint key) => key = (uint)_view._labels[_view._labelOffset + CurrentRow()] + 1)
                    : (ValueGetter<VBuffer<float>>)GetFeatures;
                return getter as ValueGetter<TValue> ?? throw new InvalidOperationException(
                    $"Column '{column.Name}' is {column.Type}; it cannot be read as {typeof(TValue).Name}.");
            }

            private void GetFeatures(ref VBuffer<float> dst)
            {
                var pixels = new ReadOnlySpan<byte>(_view._images, _view._imageOffset + CurrentRow() * PixelCount, PixelCount);
                VBufferEditor<float> editor = VBufferEditor.Create(ref dst, PixelCount);
                for (int i = 0; i < PixelCount; i++) editor.Values[i] = pixels[i] / 255f;
                dst = editor.Commit();
            }

            private int CurrentRow() =>
                _row >= 0 ? _row : throw new InvalidOperationException("The cursor is not on a row (call MoveNext first).");
        }
    }
}
