using Microsoft.ML.Data;

namespace MlNetMiniBatch.Scoring;

/// <summary>
/// The training label's "KeyValues" annotation (class names), kept with its original item type so that the
/// scores carry the same annotation and a downstream <c>MapKeyToValue("PredictedLabel")</c> gives back the user's values.
/// </summary>
internal abstract class LabelKeyValues
{
    public abstract VectorDataViewType Type { get; }

    /// <summary>The values as text, for <see cref="NeuralNetworkModelParameters.ClassNames"/> and messages.</summary>
    public abstract IReadOnlyList<string> Names { get; }

    public abstract void AddTo(DataViewSchema.Annotations.Builder builder, string kind);

    /// <summary>Reads the KeyValues annotation of a key column; null when it has none.</summary>
    public static LabelKeyValues? Read(DataViewSchema.Column column)
    {
        var annotation = column.Annotations.Schema.GetColumnOrNull("KeyValues");
        if (annotation is not { Type: VectorDataViewType vectorType })
            return null;
        var generic = typeof(Typed<>).MakeGenericType(vectorType.ItemType.RawType);
        return (LabelKeyValues)Activator.CreateInstance(generic, column.Annotations, vectorType)!;
    }

    public static LabelKeyValues FromNames(IReadOnlyList<string> names)
    {
        var values = names.Select(n => n.AsMemory()).ToArray();
        return new Typed<ReadOnlyMemory<char>>(new VectorDataViewType(TextDataViewType.Instance, values.Length), values);
    }

    private sealed class Typed<T> : LabelKeyValues
    {
        private readonly T[] _values;

        public Typed(DataViewSchema.Annotations annotations, VectorDataViewType type)
        {
            VBuffer<T> buffer = default;
            annotations.GetValue("KeyValues", ref buffer);
            _values = buffer.DenseValues().ToArray();
            Type = new VectorDataViewType((PrimitiveDataViewType)type.ItemType, _values.Length);
            Names = _values.Select(v => v?.ToString() ?? "").ToArray();
        }

        public Typed(VectorDataViewType type, T[] values)
        {
            _values = values;
            Type = type;
            Names = _values.Select(v => v?.ToString() ?? "").ToArray();
        }

        public override VectorDataViewType Type { get; }

        public override IReadOnlyList<string> Names { get; }

        public override void AddTo(DataViewSchema.Annotations.Builder builder, string kind)
        {
            var values = _values;
            builder.Add(kind, Type, (ref VBuffer<T> dst) => new VBuffer<T>(values.Length, (T[])values.Clone()).CopyTo(ref dst));
        }
    }
}
