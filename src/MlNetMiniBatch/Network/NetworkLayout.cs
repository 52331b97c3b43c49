namespace MlNetMiniBatch.Network;

/// <summary>
/// Layer sizes and where each layer's parameters live in the one flat parameter vector.
/// Layer l maps Sizes[l] inputs to Sizes[l+1] outputs: weights W_l [Sizes[l] × Sizes[l+1]] row-major
/// (input-major, as Keras' Dense kernel), then bias b_l [Sizes[l+1]].
/// Keeping every parameter in one array makes the optimizer step a single pass over memory.
/// </summary>
internal sealed class NetworkLayout
{
    private readonly int[] _sizes;
    private readonly int[] _offsets;

    public NetworkLayout(IReadOnlyList<int> sizes)
    {
        if (sizes.Count < 2)
            throw new ArgumentException("A network needs at least an input and an output size.", nameof(sizes));
        _sizes = sizes.ToArray();
        _offsets = new int[_sizes.Length];
        long offset = 0;
        for (int l = 0; l < LayerCount; l++)
        {
            _offsets[l] = checked((int)offset);
            offset += (long)_sizes[l] * _sizes[l + 1] + _sizes[l + 1];
        }
        if (offset > Array.MaxLength)
            throw new ArgumentException($"The network has {offset} parameters, more than one array can hold; use smaller hidden layers.");
        ParameterCount = (int)offset;
        _offsets[LayerCount] = ParameterCount;
    }

    /// <summary>Input size first, output size last.</summary>
    public IReadOnlyList<int> Sizes => _sizes;

    public int LayerCount => _sizes.Length - 1;

    public int InputSize => _sizes[0];

    public int OutputSize => _sizes[^1];

    public int ParameterCount { get; }

    /// <summary>Widest layer (input included): bounds the rows one buffer can hold.</summary>
    public int MaxWidth => _sizes.Max();

    public int FanIn(int layer) => _sizes[layer];

    public int FanOut(int layer) => _sizes[layer + 1];

    public int WeightOffset(int layer) => _offsets[layer];

    public int WeightCount(int layer) => _sizes[layer] * _sizes[layer + 1];

    public int BiasOffset(int layer) => _offsets[layer] + WeightCount(layer);

    public Span<float> Weights(Span<float> parameters, int layer) => parameters.Slice(WeightOffset(layer), WeightCount(layer));

    public Span<float> Bias(Span<float> parameters, int layer) => parameters.Slice(BiasOffset(layer), FanOut(layer));

    public ReadOnlySpan<float> Weights(ReadOnlySpan<float> parameters, int layer) => parameters.Slice(WeightOffset(layer), WeightCount(layer));

    public ReadOnlySpan<float> Bias(ReadOnlySpan<float> parameters, int layer) => parameters.Slice(BiasOffset(layer), FanOut(layer));
}
