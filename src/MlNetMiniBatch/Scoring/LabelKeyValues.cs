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

    /// <summary>Writes the item type and the values, so a saved model restores the same annotation.</summary>
    public abstract void Write(BinaryWriter writer);

    public static LabelKeyValues Read(BinaryReader reader)
    {
        int tag = reader.ReadByte();
        if (tag >= Codecs.Length)
            throw new InvalidDataException($"Unknown class-name type code {tag}.");
        var codec = Codecs[tag];
        int count = reader.ReadInt32();
        if (count < 0 || count > 1 << 20)
            throw new InvalidDataException($"Invalid class count {count}.");
        var values = Array.CreateInstance(codec.Type, count);
        for (int i = 0; i < count; i++)
            values.SetValue(codec.Read(reader), i);
        var type = new VectorDataViewType(codec.DataType, count);
        return (LabelKeyValues)Activator.CreateInstance(typeof(Typed<>).MakeGenericType(codec.Type), type, values)!;
    }

    /// <summary>The key-value item types that round-trip exactly; any other is written as text.</summary>
    private static readonly (Type Type, PrimitiveDataViewType DataType, Action<BinaryWriter, object> Write, Func<BinaryReader, object> Read)[] Codecs =
    [
        (typeof(ReadOnlyMemory<char>), TextDataViewType.Instance, (w, v) => w.Write(((ReadOnlyMemory<char>)v).ToString()), r => r.ReadString().AsMemory()),
        (typeof(float), NumberDataViewType.Single, (w, v) => w.Write((float)v), r => r.ReadSingle()),
        (typeof(double), NumberDataViewType.Double, (w, v) => w.Write((double)v), r => r.ReadDouble()),
        (typeof(int), NumberDataViewType.Int32, (w, v) => w.Write((int)v), r => r.ReadInt32()),
        (typeof(uint), NumberDataViewType.UInt32, (w, v) => w.Write((uint)v), r => r.ReadUInt32()),
        (typeof(long), NumberDataViewType.Int64, (w, v) => w.Write((long)v), r => r.ReadInt64()),
        (typeof(ulong), NumberDataViewType.UInt64, (w, v) => w.Write((ulong)v), r => r.ReadUInt64()),
        (typeof(short), NumberDataViewType.Int16, (w, v) => w.Write((short)v), r => r.ReadInt16()),
        (typeof(ushort), NumberDataViewType.UInt16, (w, v) => w.Write((ushort)v), r => r.ReadUInt16()),
        (typeof(byte), NumberDataViewType.Byte, (w, v) => w.Write((byte)v), r => r.ReadByte()),
        (typeof(sbyte), NumberDataViewType.SByte, (w, v) => w.Write((sbyte)v), r => r.ReadSByte()),
        (typeof(bool), BooleanDataViewType.Instance, (w, v) => w.Write((bool)v), r => r.ReadBoolean()),
    ];

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

        public override void Write(BinaryWriter writer)
        {
            int tag = Array.FindIndex(Codecs, c => c.Type == typeof(T));
            if (tag < 0)
            {
                FromNames(Names).Write(writer);
                return;
            }
            writer.Write((byte)tag);
            writer.Write(_values.Length);
            foreach (var value in _values)
                Codecs[tag].Write(writer, value!);
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
