using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Reads a label as the float the loss needs, whatever its stored type: key k in 1..K → class k−1 (0 is missing),
/// Boolean → 1/0, Single/Double as is (NaN is missing). One subclass per type, chosen once per cursor.
/// </summary>
internal abstract class LabelGetter
{
    /// <summary>False when the row's label is missing or out of range.</summary>
    public abstract bool TryGet(out float label);

    public static LabelGetter Create(DataViewRow row, DataViewSchema.Column column, int classCount) => column.Type switch
    {
        KeyDataViewType { RawType: var t } when t == typeof(uint) => new Key<uint>(row.GetGetter<uint>(column), classCount, v => v),
        KeyDataViewType { RawType: var t } when t == typeof(ushort) => new Key<ushort>(row.GetGetter<ushort>(column), classCount, v => v),
        KeyDataViewType { RawType: var t } when t == typeof(byte) => new Key<byte>(row.GetGetter<byte>(column), classCount, v => v),
        KeyDataViewType { RawType: var t } when t == typeof(ulong) => new Key<ulong>(row.GetGetter<ulong>(column), classCount, v => v),
        BooleanDataViewType => new Boolean(row.GetGetter<bool>(column)),
        _ when column.Type == NumberDataViewType.Single => new Single(row.GetGetter<float>(column)),
        _ when column.Type == NumberDataViewType.Double => new Double(row.GetGetter<double>(column)),
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
