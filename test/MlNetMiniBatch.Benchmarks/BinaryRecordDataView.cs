using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// A data view over a raw binary file of fixed-size records [label byte, 784 pixel bytes], read front to back with one
/// FileStream and one reused record buffer: memory does not depend on the file's length. It cannot shuffle.
/// Columns: Label (Key&lt;UInt32, 10&gt;: byte 0..9 → key 1..10) and Features (784 Singles, pixel / 255).
/// </summary>
internal sealed class BinaryRecordDataView : IDataView
{
    public const int Pixels = 784;
    public const int RecordSize = 1 + Pixels;

    private readonly string _path;
    private readonly long _rows;

    public BinaryRecordDataView(string path)
    {
        _path = path;
        long length = new FileInfo(path).Length;
        if (length % RecordSize != 0)
            throw new InvalidDataException($"{path}: {length} bytes is not a whole number of {RecordSize}-byte records.");
        _rows = length / RecordSize;
        var schema = new DataViewSchema.Builder();
        schema.AddColumn("Label", new KeyDataViewType(typeof(uint), BenchContext.Classes));
        schema.AddColumn("Features", new VectorDataViewType(NumberDataViewType.Single, Pixels));
        Schema = schema.ToSchema();
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _rows;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var active = new bool[Schema.Count];
        foreach (DataViewSchema.Column column in columnsNeeded) active[column.Index] = true;
        return new Cursor(this, active);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly BinaryRecordDataView _view;
        private readonly bool[] _active;
        private readonly FileStream _stream;
        private readonly byte[] _record = new byte[RecordSize];
        private long _position = -1;
        private bool _onRow;

        public Cursor(BinaryRecordDataView view, bool[] active)
        {
            (_view, _active) = (view, active);
            _stream = new FileStream(view._path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);
        }

        public override DataViewSchema Schema => _view.Schema;
        public override long Position => _position;
        public override long Batch => 0;
        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override bool MoveNext()
        {
            if (_position + 1 < _view._rows && _stream.CanRead)
            {
                _stream.ReadExactly(_record);
                _position++;
                _onRow = true;
                return true;
            }
            _onRow = false;
            return false;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_active[column.Index])
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
            Delegate getter = column.Index == 0 ? (ValueGetter<uint>)GetLabel : (ValueGetter<VBuffer<float>>)GetFeatures;
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; it cannot be read as {typeof(TValue).Name}.");
        }

        private void GetLabel(ref uint key)
        {
            CheckRow();
            key = _record[0] < BenchContext.Classes ? (uint)_record[0] + 1 : 0;
        }

        private void GetFeatures(ref VBuffer<float> dst)
        {
            CheckRow();
            VBufferEditor<float> editor = VBufferEditor.Create(ref dst, Pixels);
            Span<float> values = editor.Values;
            for (int i = 0; i < Pixels; i++) values[i] = _record[1 + i] * (1f / 255f);
            dst = editor.Commit();
        }

        private void CheckRow()
        {
            if (!_onRow) throw new InvalidOperationException("The cursor is not on a row (call MoveNext first).");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _stream.Dispose();
            base.Dispose(disposing);
        }
    }
}
