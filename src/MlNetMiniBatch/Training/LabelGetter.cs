using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Reads a label as the floats the loss needs, whatever its stored type: key k in 1..K → class k−1 (0 is missing),
/// Boolean → 1/0, Single/Double as is (NaN is missing); a known-size vector of Single, Double or Boolean → one float
/// per element, and the row is missing when any element is. One subclass per type, chosen once per cursor.
/// </summary>
internal abstract class LabelGetter
{
    /// <summary>Values per row: 1, or the vector label's size.</summary>
    public virtual int Count => 1;

    /// <summary>For a vector label, the first element that made the last <see cref="TryGet(Span{float})"/> fail; else −1.</summary>
    public virtual int BadElement => -1;

    /// <summary>False when the row's label is missing or out of range. A scalar label's one value.</summary>
    public abstract bool TryGet(out float label);

    /// <summary>Writes the row's <see cref="Count"/> values to <paramref name="values"/>; false when any is missing.</summary>
    public virtual bool TryGet(Span<float> values) => TryGet(out values[0]);

    public static LabelGetter Create(DataViewRow row, DataViewSchema.Column column, int classCount) => column.Type switch
    {
        KeyDataViewType { RawType: var t } when t == typeof(uint) => new Key<uint>(row.GetGetter<uint>(column), classCount, v => v),
        KeyDataViewType { RawType: var t } when t == typeof(ushort) => new Key<ushort>(row.GetGetter<ushort>(column), classCount, v => v),
        KeyDataViewType { RawType: var t } when t == typeof(byte) => new Key<byte>(row.GetGetter<byte>(column), classCount, v => v),
        KeyDataViewType { RawType: var t } when t == typeof(ulong) => new Key<ulong>(row.GetGetter<ulong>(column), classCount, v => v),
        BooleanDataViewType => new Boolean(row.GetGetter<bool>(column)),
        _ when column.Type == NumberDataViewType.Single => new Single(row.GetGetter<float>(column)),
        _ when column.Type == NumberDataViewType.Double => new Double(row.GetGetter<double>(column)),
        VectorDataViewType { IsKnownSize: true, ItemType: var item, Size: var size } when item == NumberDataViewType.Single
            => new Vector<float>(row.GetGetter<VBuffer<float>>(column), size, column.Name, v => v),
        VectorDataViewType { IsKnownSize: true, ItemType: var item, Size: var size } when item == NumberDataViewType.Double
            => new Vector<double>(row.GetGetter<VBuffer<double>>(column), size, column.Name, v => (float)v),
        VectorDataViewType { IsKnownSize: true, ItemType: BooleanDataViewType, Size: var size }
            => new Vector<bool>(row.GetGetter<VBuffer<bool>>(column), size, column.Name, v => v ? 1f : 0f),
        _ => throw new ArgumentException($"The label column '{column.Name}' has unsupported type {column.Type}.", "LabelColumnName"),
    };

    private sealed class Key<T>(ValueGetter<T> getter, int classCount, Func<T, ulong> widen) : LabelGetter
    {
        private T _value = default!;

        public override bool TryGet(out float label)
        {
            getter(ref _value);
            ulong key = widen(_value);
            label = key - 1f;
            return key >= 1 && key <= (ulong)classCount;
        }
    }

    private sealed class Boolean(ValueGetter<bool> getter) : LabelGetter
    {
        private bool _value;

        public override bool TryGet(out float label)
        {
            getter(ref _value);
            label = _value ? 1f : 0f;
            return true;
        }
    }

    private sealed class Single(ValueGetter<float> getter) : LabelGetter
    {
        private float _value;

        public override bool TryGet(out float label)
        {
            getter(ref _value);
            label = _value;
            return float.IsFinite(label);
        }
    }

    private sealed class Double(ValueGetter<double> getter) : LabelGetter
    {
        private double _value;

        public override bool TryGet(out float label)
        {
            getter(ref _value);
            label = (float)_value;
            return float.IsFinite(label);
        }
    }

    /// <summary>A known-size vector; sparse elements that are not stored are 0. The VBuffer is reused, so rows allocate nothing.</summary>
    private sealed class Vector<T>(ValueGetter<VBuffer<T>> getter, int size, string name, Func<T, float> toFloat) : LabelGetter
    {
        private VBuffer<T> _value;
        private int _badElement = -1;

        public override int Count => size;

        public override int BadElement => _badElement;

        public override bool TryGet(out float label) => throw new NotSupportedException(
            $"The label column '{name}' is a vector of {size} values; it has no single value to stratify or weigh rows by.");

        public override bool TryGet(Span<float> values)
        {
            getter(ref _value);
            if (_value.Length != size)
                throw new InvalidOperationException($"The label column '{name}' declares {size} values per row, but a row has {_value.Length}.");
            _badElement = -1;
            var stored = _value.GetValues();
            if (_value.IsDense)
            {
                for (int i = 0; i < size; i++)
                    values[i] = toFloat(stored[i]);
            }
            else
            {
                values.Slice(0, size).Clear();
                var indices = _value.GetIndices();
                for (int i = 0; i < indices.Length; i++)
                    values[indices[i]] = toFloat(stored[i]);
            }
            for (int i = 0; i < size; i++)
            {
                if (!float.IsFinite(values[i]))
                {
                    _badElement = i;
                    return false;
                }
            }
            return true;
        }
    }
}

/// <summary>A Single or Double column read as float.</summary>
internal static class NumericGetter
{
    public static ValueGetter<float> Create(DataViewRow row, DataViewSchema.Column column)
    {
        if (column.Type == NumberDataViewType.Single)
            return row.GetGetter<float>(column);
        var getDouble = row.GetGetter<double>(column);
        double value = 0;
        return (ref float dst) => { getDouble(ref value); dst = (float)value; };
    }
}
