namespace MlNetMiniBatch.Scoring;

/// <summary>
/// Keeps one input column's values for a block of rows, so a cursor can read rows ahead (to score them together) and
/// still serve each row's own values of the columns it passes through. Vectors are deep-copied: a source may reuse
/// its buffers once its cursor moves on.
/// </summary>
internal abstract class ColumnBuffer
{
    /// <summary>Reads the input's current value into slot <paramref name="slot"/>.</summary>
    public abstract void Capture(int slot);

    /// <summary>A getter of the value in the slot <paramref name="currentSlot"/> returns when called.</summary>
    public abstract Delegate Getter(Func<int> currentSlot);

    public static ColumnBuffer Create(DataViewRow input, DataViewSchema.Column column, int slots)
    {
        var type = column.Type is VectorDataViewType vector
            ? typeof(VectorBuffer<>).MakeGenericType(vector.ItemType.RawType)
            : typeof(ScalarBuffer<>).MakeGenericType(column.Type.RawType);
        return (ColumnBuffer)Activator.CreateInstance(type, input, column, slots)!;
    }

    private sealed class ScalarBuffer<T>(DataViewRow input, DataViewSchema.Column column, int slots) : ColumnBuffer
    {
        private readonly ValueGetter<T> _getter = input.GetGetter<T>(column);
        private readonly T[] _values = new T[slots];

        public override void Capture(int slot) => _getter(ref _values[slot]);

        public override Delegate Getter(Func<int> currentSlot) => (ValueGetter<T>)((ref T dst) => dst = _values[currentSlot()]);
    }

    private sealed class VectorBuffer<T>(DataViewRow input, DataViewSchema.Column column, int slots) : ColumnBuffer
    {
        private readonly ValueGetter<VBuffer<T>> _getter = input.GetGetter<VBuffer<T>>(column);
        private readonly VBuffer<T>[] _values = new VBuffer<T>[slots];
        private VBuffer<T> _scratch;

        public override void Capture(int slot)
        {
            _getter(ref _scratch);
            _scratch.CopyTo(ref _values[slot]);
        }

        public override Delegate Getter(Func<int> currentSlot) => (ValueGetter<VBuffer<T>>)((ref VBuffer<T> dst) => _values[currentSlot()].CopyTo(ref dst));
    }
}
