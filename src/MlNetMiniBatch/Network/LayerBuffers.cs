namespace MlNetMiniBatch.Network;

/// <summary>
/// Per-batch scratch memory of a forward and backward pass: each layer's pre-activation z and activation f(z),
/// and two ping-pong buffers for the gradients flowing down. Sized by batch capacity and layer widths only,
/// allocated once and reused for every batch.
/// </summary>
internal sealed class LayerBuffers
{
    private readonly NetworkLayout _layout;
    private float[][] _preActivations = Array.Empty<float[]>();
    private float[][] _activations = Array.Empty<float[]>();
    private readonly float[][] _gradientScratch = new float[2][];

    public LayerBuffers(NetworkLayout layout, int capacity)
    {
        _layout = layout;
        EnsureCapacity(capacity);
    }

    public int Capacity { get; private set; }

    /// <summary>Grows the buffers when a batch larger than any before arrives; a no-op in steady state.</summary>
    public void EnsureCapacity(int rows)
    {
        if (rows <= Capacity)
            return;
        int layers = _layout.LayerCount;
        _preActivations = new float[layers][];
        _activations = new float[layers][];
        for (int l = 0; l < layers; l++)
        {
            _preActivations[l] = new float[rows * _layout.FanOut(l)];
            _activations[l] = l < layers - 1 ? new float[rows * _layout.FanOut(l)] : _preActivations[l];
        }
        _gradientScratch[0] = new float[rows * _layout.MaxWidth];
        _gradientScratch[1] = new float[rows * _layout.MaxWidth];
        Capacity = rows;
    }

    public Span<float> PreActivation(int layer, int rows) => _preActivations[layer].AsSpan(0, rows * _layout.FanOut(layer));

    public Span<float> Activation(int layer, int rows) => _activations[layer].AsSpan(0, rows * _layout.FanOut(layer));

    public Span<float> GradientScratch(int which, int length) => _gradientScratch[which].AsSpan(0, length);
}
