namespace MlNetMiniBatch.Onnx;

/// <summary>An ONNX node attribute: an integer or a float.</summary>
internal readonly record struct OnnxAttribute(string Name, long? Int = null, float? Float = null)
{
    public static OnnxAttribute Of(string name, long value) => new(name, Int: value);

    public static OnnxAttribute Of(string name, float value) => new(name, Float: value);
}

/// <summary>
/// Where <see cref="NetworkOnnxGraph"/> writes the network's nodes: ML.NET's own ONNX context when a whole pipeline is
/// converted (<c>mlContext.Model.ConvertToOnnx</c>), or <see cref="OnnxModelWriter"/> for the standalone export.
/// Tensors follow ML.NET's convention: rows first, a scalar column is [rows, 1], a vector column [rows, size].
/// </summary>
internal abstract class OnnxGraph
{
    /// <summary>The variable holding input column <paramref name="column"/> of type <paramref name="type"/>.</summary>
    public abstract string Input(string column, DataViewType type);

    /// <summary>A new variable for output column <paramref name="column"/>, which the caller's node must produce.</summary>
    public abstract string Output(string column, DataViewType type);

    /// <summary>A new intermediate variable (name made unique from <paramref name="name"/>).</summary>
    public abstract string Intermediate(string name, DataViewType type);

    /// <summary>A constant float tensor; returns its (unique) name.</summary>
    public abstract string Initializer(string name, ReadOnlySpan<float> values, long[] dims);

    /// <summary>A constant int64 tensor; returns its (unique) name.</summary>
    public abstract string Initializer(string name, long[] values, long[] dims);

    /// <summary>A node of the default ONNX domain.</summary>
    public abstract void Node(string opType, string[] inputs, string[] outputs, params OnnxAttribute[] attributes);
}
