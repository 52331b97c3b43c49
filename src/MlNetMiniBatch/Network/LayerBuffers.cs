using MlNetMiniBatch.Kernels;

namespace MlNetMiniBatch.Network;

/// <summary>
/// Per-batch scratch memory of a forward and backward pass: each layer's pre-activation z and activation f(z),
/// and two ping-pong buffers for the gradients flowing down. Sized by batch capacity and layer widths only,
/// allocated once and reused for every batch. Each buffer starts on a cache line (<see cref="AlignedFloats"/>): they are
/// the GEMMs' outputs, and the backward pass reads the gradients in place as an operand.
/// </summary>
internal sealed class LayerBuffers
{
    private readonly NetworkLayout _layout;
    private AlignedFloats[] _preActivations = [];
    private AlignedFloats[] _activations = [];
    private AlignedFloats[] _dropoutMasks = [];
    private AlignedFloats[] _droppedOutputs = [];
    private readonly AlignedFloats[] _gradientScratch = new AlignedFloats[2];

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
        _preActivations = new AlignedFloats[layers];
        _activations = new AlignedFloats[layers];
        for (int l = 0; l < layers; l++)
        {
            _preActivations[l] = new AlignedFloats(rows * _layout.FanOut(l));
            _activations[l] = l < layers - 1 ? new AlignedFloats(rows * _layout.FanOut(l)) : _preActivations[l];
        }
        if (HasDropout)
            AllocateDropout(rows);
        // The backward pass stops at the first layer's weights and never forms a gradient of the input, so the
        // input's width (2^25 for hashed n-grams) does not size the scratch.
        int gradientWidth = _layout.Sizes.Skip(1).Max();
        _gradientScratch[0] = new AlignedFloats(rows * gradientWidth);
        _gradientScratch[1] = new AlignedFloats(rows * gradientWidth);
        Capacity = rows;
    }

    /// <summary>Whether hidden outputs pass through a dropout mask (training with Dropout &gt; 0).</summary>
    public bool HasDropout { get; private set; }

    /// <summary>Adds the mask and masked-output buffers that dropout needs; scoring never calls this.</summary>
    public void EnableDropout()
    {
        if (HasDropout)
            return;
        HasDropout = true;
        AllocateDropout(Capacity);
    }

    private void AllocateDropout(int rows)
    {
        int hidden = _layout.LayerCount - 1;
        _dropoutMasks = new AlignedFloats[hidden];
        _droppedOutputs = new AlignedFloats[hidden];
        for (int l = 0; l < hidden; l++)
        {
            _dropoutMasks[l] = new AlignedFloats(rows * _layout.FanOut(l));
            _droppedOutputs[l] = new AlignedFloats(rows * _layout.FanOut(l));
        }
    }

    /// <summary>What hidden layer <paramref name="layer"/> passes to the next layer: its activation, masked when dropout is on.</summary>
    public Span<float> Output(int layer, int rows) => HasDropout && layer < _layout.LayerCount - 1
        ? _droppedOutputs[layer].Span(rows * _layout.FanOut(layer))
        : Activation(layer, rows);

    /// <summary>Dropout multipliers of a hidden layer: 0 for dropped units, 1 / (1 − rate) for kept ones.</summary>
    public Span<float> DropoutMask(int layer, int rows) => _dropoutMasks[layer].Span(rows * _layout.FanOut(layer));

    public Span<float> PreActivation(int layer, int rows) => _preActivations[layer].Span(rows * _layout.FanOut(layer));

    public Span<float> Activation(int layer, int rows) => _activations[layer].Span(rows * _layout.FanOut(layer));

    public Span<float> GradientScratch(int which, int length) => _gradientScratch[which].Span(length);
}
