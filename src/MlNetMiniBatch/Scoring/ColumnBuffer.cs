using System.Runtime.CompilerServices;

namespace MlNetMiniBatch.Scoring;

/// <summary>
/// Keeps one input column's values for a block of rows, so a cursor can read rows ahead (to score them together) and
/// still serve each row's own values of the columns it passes through. Every value is copied deeply, text included:
/// a source may reuse its buffers (a line buffer, a token array) as soon as its cursor moves on.
/// </summary>
internal abstract class ColumnBuffer
{
    /// <summary>Reads the input's current value into slot <paramref name="slot"/>.</summary>
    public abstract void Capture(int slot);

    /// <summary>A getter of the value in the slot <paramref name="currentSlot"/> returns when called.</summary>
    public abstract Delegate Getter(Func<int> currentSlot);

    /// <summary>Whether values of <paramref name="type"/> can be copied deeply: plain values and text, scalar or
    /// vector. Any other reference (an image, a custom object) may be a buffer its source reuses, and nothing here
    /// knows how to copy it, so such a column is not read ahead.</summary>
    public static bool CanBuffer(DataViewType type)
    {
        var raw = type is VectorDataViewType vector ? vector.ItemType.RawType : type.RawType;
        return raw == typeof(ReadOnlyMemory<char>) || !(bool)typeof(RuntimeHelpers)
            .GetMethod(nameof(RuntimeHelpers.IsReferenceOrContainsReferences))!.MakeGenericMethod(raw).Invoke(null, null)!;
    }

    public static ColumnBuffer Create(DataViewRow input, DataViewSchema.Column column, int slots)
    {
        if (!CanBuffer(column.Type))
            throw new ArgumentException($"Column '{column.Name}' of type {column.Type} cannot be copied to be read ahead.", nameof(column));
        var type = (column.Type, column.Type is VectorDataViewType v ? v.ItemType.RawType : column.Type.RawType) switch
        {
            (VectorDataViewType, var item) when item == typeof(ReadOnlyMemory<char>) => typeof(TextVectorBuffer),
            (VectorDataViewType, var item) => typeof(VectorBuffer<>).MakeGenericType(item),
            (_, var raw) when raw == typeof(ReadOnlyMemory<char>) => typeof(TextBuffer),
            (_, var raw) => typeof(ScalarBuffer<>).MakeGenericType(raw),
        };
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

    private sealed class TextBuffer(DataViewRow input, DataViewSchema.Column column, int slots) : ColumnBuffer
    {
        private readonly ValueGetter<ReadOnlyMemory<char>> _getter = input.GetGetter<ReadOnlyMemory<char>>(column);
        private readonly ReadOnlyMemory<char>[] _values = new ReadOnlyMemory<char>[slots];
        private readonly TextArena[] _arenas = TextArena.For(slots);
        private ReadOnlyMemory<char> _scratch;

        public override void Capture(int slot)
        {
            _getter(ref _scratch);
            var arena = _arenas[slot];
            arena.Clear();
            _values[slot] = arena.Copy(_scratch.Span);
        }

        public override Delegate Getter(Func<int> currentSlot)
            => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> dst) => dst = _values[currentSlot()]);
    }

    private sealed class TextVectorBuffer(DataViewRow input, DataViewSchema.Column column, int slots) : ColumnBuffer
    {
        private readonly ValueGetter<VBuffer<ReadOnlyMemory<char>>> _getter = input.GetGetter<VBuffer<ReadOnlyMemory<char>>>(column);
        private readonly VBuffer<ReadOnlyMemory<char>>[] _values = new VBuffer<ReadOnlyMemory<char>>[slots];
        private readonly TextArena[] _arenas = TextArena.For(slots);
        private VBuffer<ReadOnlyMemory<char>> _scratch;

        public override void Capture(int slot)
        {
            _getter(ref _scratch);
            _scratch.CopyTo(ref _values[slot]);
            // CopyTo copied the memories, not the characters they point to.
            var arena = _arenas[slot];
            arena.Clear();
            var editor = VBufferEditor.CreateFromBuffer(ref _values[slot]);
            for (int i = 0; i < editor.Values.Length; i++)
                editor.Values[i] = arena.Copy(editor.Values[i].Span);
        }

        public override Delegate Getter(Func<int> currentSlot)
            => (ValueGetter<VBuffer<ReadOnlyMemory<char>>>)((ref VBuffer<ReadOnlyMemory<char>> dst) => _values[currentSlot()].CopyTo(ref dst));
    }

    /// <summary>Characters of one slot's text, in one array reused block after block, so that copying text
    /// allocates only while the longest row seen so far grows.</summary>
    private sealed class TextArena
    {
        private char[] _chars = [];
        private int _used;

        public static TextArena[] For(int slots) => Enumerable.Range(0, slots).Select(_ => new TextArena()).ToArray();

        public void Clear() => _used = 0;

        public ReadOnlyMemory<char> Copy(ReadOnlySpan<char> text)
        {
            if (_used + text.Length > _chars.Length)
            {
                // Text already copied this block keeps pointing into the old array, which is never written again.
                _chars = new char[Math.Max(_used + text.Length, 2 * _chars.Length)];
                _used = 0;
            }
            text.CopyTo(_chars.AsSpan(_used));
            var copy = _chars.AsMemory(_used, text.Length);
            _used += text.Length;
            return copy;
        }
    }
}
