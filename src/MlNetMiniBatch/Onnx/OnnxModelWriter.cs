using System.Reflection;
using System.Runtime.InteropServices;

namespace MlNetMiniBatch.Onnx;

/// <summary>
/// The standalone ONNX export: collects the network's graph and writes an ONNX ModelProto (IR version 8, opset 13)
/// with the protobuf wire format by hand. Field numbers are those of onnx.proto.
/// Inputs: the feature column as float [N, features]; outputs: the score columns, named like the transformer's.
/// </summary>
internal sealed class OnnxModelWriter : OnnxGraph
{
    public const long IrVersion = 8, Opset = 13;

    // onnx.proto TensorProto.DataType
    private const int FloatType = 1, Int64Type = 7, BoolType = 9, UInt32Type = 12;

    private readonly List<(string Name, DataViewType Type)> _inputs = [], _outputs = [], _values = [];
    private readonly List<(string Name, int DataType, long[] Dims, byte[] Raw)> _initializers = [];
    private readonly List<(string OpType, string Name, string[] Inputs, string[] Outputs, OnnxAttribute[] Attributes)> _nodes = [];
    private readonly HashSet<string> _names = [];

    public override string Input(string column, DataViewType type)
    {
        _inputs.Add((Unique(column), type));
        return column;
    }

    public override string Output(string column, DataViewType type)
    {
        _outputs.Add((Unique(column), type));
        return column;
    }

    public override string Intermediate(string name, DataViewType type)
    {
        name = Unique(name);
        _values.Add((name, type));
        return name;
    }

    public override string Initializer(string name, ReadOnlySpan<float> values, long[] dims)
    {
        name = Unique(name);
        _initializers.Add((name, FloatType, dims, MemoryMarshal.AsBytes(values).ToArray()));
        return name;
    }

    public override string Initializer(string name, long[] values, long[] dims)
    {
        name = Unique(name);
        _initializers.Add((name, Int64Type, dims, MemoryMarshal.AsBytes(values.AsSpan()).ToArray()));
        return name;
    }

    public override void Node(string opType, string[] inputs, string[] outputs, params OnnxAttribute[] attributes)
        => _nodes.Add((opType, $"{opType}{_nodes.Count}", inputs, outputs, attributes));

    private string Unique(string name)
    {
        if (!_names.Add(name))
            throw new InvalidOperationException($"ONNX export: the name '{name}' is used twice.");
        return name;
    }

    /// <summary>Writes the ModelProto. <paramref name="metadata"/> goes to metadata_props.</summary>
    public void Write(Stream stream, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX raw_data is little-endian; this export runs on little-endian machines only.");
        var model = new ProtoWriter()
            .Int64(1, IrVersion)                                                  // ir_version
            .String(2, "MlNetMiniBatch")                                          // producer_name
            .String(3, typeof(OnnxModelWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "")
            .String(4, "mlnetminibatch")                                          // domain
            .Int64(5, 1)                                                          // model_version
            .Message(7, WriteGraph)                                               // graph
            .Message(8, opset => opset.String(1, "").Int64(2, Opset));            // opset_import (default domain)
        foreach (var (key, value) in metadata)
            model.Message(14, entry => entry.String(1, key).String(2, value));   // metadata_props
        model.WriteTo(stream);
    }

    private void WriteGraph(ProtoWriter graph)
    {
        foreach (var node in _nodes)
            graph.Message(1, n =>                                                 // node
            {
                foreach (var input in node.Inputs) n.String(1, input);
                foreach (var output in node.Outputs) n.String(2, output);
                n.String(3, node.Name).String(4, node.OpType);
                foreach (var attribute in node.Attributes)
                    n.Message(5, a =>                                             // attribute
                    {
                        a.String(1, attribute.Name);
                        if (attribute.Float is { } f) a.Float(2, f).Int64(20, 1); // f, type FLOAT
                        else a.Int64(3, attribute.Int ?? 0).Int64(20, 2);         // i, type INT
                    });
            });
        graph.String(2, "MlNetMiniBatch");                                        // name
        foreach (var init in _initializers)
            graph.Message(5, t => t.PackedInt64(1, init.Dims).Int64(2, init.DataType).String(8, init.Name).Bytes(9, init.Raw));
        foreach (var (name, type) in _inputs) graph.Message(11, v => ValueInfo(v, name, type));
        foreach (var (name, type) in _outputs) graph.Message(12, v => ValueInfo(v, name, type));
        foreach (var (name, type) in _values) graph.Message(13, v => ValueInfo(v, name, type));
    }

    /// <summary>ValueInfoProto { name, type: TypeProto { tensor_type { elem_type, shape [N, width] } } }.</summary>
    private static void ValueInfo(ProtoWriter value, string name, DataViewType type)
    {
        var (elementType, width) = type switch
        {
            VectorDataViewType { ItemType: var item, Size: var size } => (ElementType(item), size),
            _ => (ElementType(type), 1),
        };
        value.String(1, name).Message(2, t => t.Message(1, tensor => tensor
            .Int64(1, elementType)
            .Message(2, shape => shape
                .Message(1, d => d.String(2, "N"))                               // dim_param: any number of rows
                .Message(1, d => d.Int64(1, width)))));
    }

    private static int ElementType(DataViewType type) => type switch
    {
        _ when type == NumberDataViewType.Single => FloatType,
        _ when type == NumberDataViewType.Int64 => Int64Type,
        BooleanDataViewType => BoolType,
        KeyDataViewType { RawType: var raw } when raw == typeof(uint) => UInt32Type,
        _ => throw new NotSupportedException($"ONNX export has no element type for {type}."),
    };
}
