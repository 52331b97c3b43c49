using MlNetMiniBatch.Kernels;

namespace MlNetMiniBatch.Network;

/// <summary>
/// Per-batch scratch memory of a forward and backward pass: each layer's pre-activation z, activation f(z) and
/// gradient dZ (the loss's gradient with respect to z). Sized by batch capacity and layer widths only,
/// allocated once and reused for every batch. Each buffer starts on a cache line (<see cref="AlignedFloats"/>): they are
/// the GEMMs' outputs, and the backward pass reads the gradients in place as an operand.
/// A hidden layer whose activation's derivative can be read off f(z) keeps f(z) alone, written over z as the GEMM
/// finishes each tile (<see cref="KeepsPreActivation"/>): a third less activation memory, and that much less of it
/// written by the forward pass and read again by the backward.
/// </summary>
internal sealed class LayerBuffers
{
    private readonly NetworkLayout _layout;
    private readonly bool _keepsPreActivation;
    private AlignedFloats[] _preActivations = [];
    private AlignedFloats[] _activations = [];
    private AlignedFloats[] _dropoutMasks = [];
    private AlignedFloats[] _droppedOutputs = [];
    private AlignedFloats[] _layerGradients = [];

    public LayerBuffers(NetworkLayout layout, NeuralNetworkActivation activation, int capacity)
        : this(layout, KeepsPreActivation(activation), capacity)
    {
    }

    /// <param name="keepsPreActivation">Whether hidden layers keep z apart from f(z); tests set it to show that not keeping
    /// z changes no bit.</param>
    internal LayerBuffers(NetworkLayout layout, bool keepsPreActivation, int capacity)
    {
        _layout = layout;
        _keepsPreActivation = keepsPreActivation;
        EnsureCapacity(capacity);
    }

    /// <summary>
    /// Whether a hidden layer needs z apart from f(z). ReLU and leaky ReLU keep z's sign in f(z) (f(z) &gt; 0 exactly
    /// where z &gt; 0, NaN included), so their derivative's test reads the same either way; tanh's and the logistic's
    /// derivatives are written in f(z) already. GELU's derivative needs z itself.
    /// </summary>
    public static bool KeepsPreActivation(NeuralNetworkActivation activation) => activation == NeuralNetworkActivation.GELU;

    public int Capacity { get; private set; }

    /// <summary>Floats held for z, f(z) and dZ (without dropout's): lets tests check what the memory estimate counts.</summary>
    internal long LayerFloats => _preActivations.Concat(_activations).Concat(_layerGradients).Distinct().Sum(b => (long)b.Length);

    /// <summary>Grows the buffers when a batch larger than any before arrives; a no-op in steady state.</summary>
    public void EnsureCapacity(int rows)
    {
        if (rows <= Capacity)
            return;
        int layers = _layout.LayerCount;
        _preActivations = new AlignedFloats[layers];
        _activations = new AlignedFloats[layers];
        _layerGradients = new AlignedFloats[layers];
        for (int l = 0; l < layers; l++)
        {
            _preActivations[l] = new AlignedFloats(rows * _layout.FanOut(l));
            _activations[l] = l < layers - 1 && _keepsPreActivation ? new AlignedFloats(rows * _layout.FanOut(l)) : _preActivations[l];
            _layerGradients[l] = new AlignedFloats(rows * _layout.FanOut(l));
        }
        if (HasDropout)
            AllocateDropout(rows);
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

    /// <summary>z of a layer: the same memory as <see cref="Activation"/> for the output layer, and for a hidden layer that
    /// does not keep z (<see cref="KeepsPreActivation"/>), whose z is overwritten by f(z).</summary>
    public Span<float> PreActivation(int layer, int rows) => _preActivations[layer].Span(rows * _layout.FanOut(layer));

    public Span<float> Activation(int layer, int rows) => _activations[layer].Span(rows * _layout.FanOut(layer));

    /// <summary>dZ of a layer. Every layer keeps its own, rather than two buffers taking turns down the layers, so that
    /// the input gradients of all layers can be formed before any weight gradient (<see cref="RowSlices"/>).</summary>
    public Span<float> LayerGradient(int layer, int rows) => _layerGradients[layer].Span(rows * _layout.FanOut(layer));
}
