using System.Numerics.Tensors;
using MlNetMiniBatch.Kernels;

namespace MlNetMiniBatch.Network;

/// <summary>
/// Forward and backward passes of a stack of dense layers over a batch held row-major in spans.
/// Hidden layers apply <see cref="Activation"/>; the last layer is linear (its logits go to the task's <see cref="Tasks.TrainingTask.Loss"/>).
/// The class holds no parameters: they are passed in, so training, scoring and gradient checks share this code.
/// Results are the same bits on any number of threads.
/// </summary>
internal sealed unsafe class MultilayerPerceptron
{
    public MultilayerPerceptron(NetworkLayout layout, NeuralNetworkActivation activation)
    {
        Layout = layout;
        Activation = activation;
    }

    public NetworkLayout Layout { get; }

    public NeuralNetworkActivation Activation { get; }

    /// <summary>Computes the logits [rows × outputs] of <paramref name="input"/> [rows × inputs] and keeps every
    /// layer's pre-activation and activation in <paramref name="buffers"/> for the backward pass.</summary>
    /// <param name="dropout">Training only: probability of dropping each hidden unit; the mask is drawn from
    /// <paramref name="dropoutSeed"/> (a counter-based generator, so a batch's mask depends on nothing but its seed).</param>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, int rows, LayerBuffers buffers, int threads,
        float dropout = 0, ulong dropoutSeed = 0)
    {
        if (dropout > 0)
            buffers.EnableDropout();
        buffers.EnsureCapacity(rows);
        input = input.Slice(0, rows * Layout.InputSize);
        int slices = RowSlices.Count(rows, threads);
        if (slices > 1)
        {
            fixed (float* p = parameters)
            fixed (float* x = input)
            {
                var pass = new RowSlices.SlicedPass
                {
                    Parameters = p, ParameterCount = parameters.Length, Input = x, Rows = rows, Dropout = dropout, DropoutSeed = dropoutSeed,
                };
                RowSlices.Run(this, buffers, in pass, slices);
            }
        }
        else
        {
            ForwardRows(parameters, input, rows, 0, rows, buffers, threads, dropout, dropoutSeed);
        }
        return buffers.PreActivation(Layout.LayerCount - 1, rows);
    }

    /// <summary>The forward pass of rows [first, first + count) of a batch of <paramref name="rows"/>.</summary>
    internal void ForwardRows(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, int rows, int first, int count, LayerBuffers buffers,
        int threads, float dropout, ulong dropoutSeed)
    {
        var layerInput = input.Slice(first * Layout.InputSize, count * Layout.InputSize);
        for (int l = 0; l < Layout.LayerCount; l++)
        {
            int fanIn = Layout.FanIn(l), fanOut = Layout.FanOut(l);
            var z = buffers.PreActivation(l, rows).Slice(first * fanOut, count * fanOut);
            bool hidden = l < Layout.LayerCount - 1;
            var a = hidden ? buffers.Activation(l, rows).Slice(first * fanOut, count * fanOut) : Span<float>.Empty;
            // z[rows × fanOut] = input[rows × fanIn] · W[fanIn × fanOut] + b, and a = f(z) for a hidden layer,
            // the bias and activation applied to each tile of z as the GEMM finishes it (a may be z's memory: LayerBuffers).
            Gemm.MultiplyAddBias(count, fanOut, fanIn, layerInput, fanIn, Layout.Weights(parameters, l), fanOut, z,
                Layout.Bias(parameters, l), Activation, a, threads);
            layerInput = !hidden ? z : dropout > 0 ? Dropout(a, buffers, l, rows, first, count, dropout, dropoutSeed) : a;
        }
    }

    /// <summary>
    /// Back-propagates <paramref name="logitGradient"/> [rows × outputs] (already scaled to the batch mean) through the
    /// layers kept by the last <see cref="Forward"/> and writes every parameter's gradient into <paramref name="gradient"/>.
    /// The L2 term is not added here: the trainer adds it in its first pass over the whole gradient (<see cref="L2Term"/>).
    /// </summary>
    /// <param name="ready">Told of each layer whose gradient is final, or null.</param>
    public void Backward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, int rows, LayerBuffers buffers,
        ReadOnlySpan<float> logitGradient, Span<float> gradient, int threads, ILayerGradientReady? ready = null)
    {
        int top = Layout.LayerCount - 1;
        logitGradient.Slice(0, rows * Layout.OutputSize).CopyTo(buffers.LayerGradient(top, rows));
        int slices = RowSlices.Count(rows, threads);
        if (slices > 1)
        {
            // Every layer's dZ first, each thread down its own rows, then the weight gradients, each over the whole
            // batch and split across the threads (a weight's gradient sums over all rows, in row order).
            fixed (float* p = parameters)
            {
                var pass = new RowSlices.SlicedPass { Backward = true, Parameters = p, ParameterCount = parameters.Length, Rows = rows };
                RowSlices.Run(this, buffers, in pass, slices);
            }
            ready?.Advance();
            for (int l = top; l >= 0; l--)
            {
                WeightGradients(input, rows, buffers, gradient, l, threads);
                ready?.LayerReady(l);
            }
            return;
        }

        for (int l = top; l >= 0; l--)
        {
            WeightGradients(input, rows, buffers, gradient, l, threads);
            ready?.LayerReady(l);
            if (l == 0)
                break;
            InputGradient(parameters, rows, 0, rows, buffers, l, threads);
            ready?.Advance();
        }
    }

    /// <summary>dZ of every layer below the output layer, for rows [first, first + count) of a batch of
    /// <paramref name="rows"/>; the output layer's dZ is already in <paramref name="buffers"/>.</summary>
    internal void InputGradients(ReadOnlySpan<float> parameters, int rows, int first, int count, LayerBuffers buffers, int threads)
    {
        for (int l = Layout.LayerCount - 1; l > 0; l--)
            InputGradient(parameters, rows, first, count, buffers, l, threads);
    }

    /// <summary>Layer <paramref name="layer"/>'s weight and bias gradients from its dZ over the whole batch.</summary>
    private void WeightGradients(ReadOnlySpan<float> input, int rows, LayerBuffers buffers, Span<float> gradient, int layer, int threads)
    {
        int fanIn = Layout.FanIn(layer), fanOut = Layout.FanOut(layer);
        ReadOnlySpan<float> layerInput = layer == 0 ? input.Slice(0, rows * fanIn) : buffers.Output(layer - 1, rows);
        ReadOnlySpan<float> dZ = buffers.LayerGradient(layer, rows);
        var dW = Layout.Weights(gradient, layer);
        // dW[fanIn × fanOut] = inputᵀ[fanIn × rows] · dZ[rows × fanOut]
        Gemm.Multiply(true, false, fanIn, fanOut, rows, layerInput, fanIn, dZ, fanOut, dW, fanOut, accumulate: false, threads);
        BiasGradient.Sum(dZ, rows, fanOut, Layout.Bias(gradient, layer), threads);
    }

    /// <summary>dZ of the layer below <paramref name="layer"/> for rows [first, first + count):
    /// (dZ · Wᵀ) ⊙ dropout mask ⊙ f'(z), the mask and the derivative applied to each tile as the GEMM finishes it.</summary>
    private void InputGradient(ReadOnlySpan<float> parameters, int rows, int first, int count, LayerBuffers buffers, int layer, int threads)
    {
        int fanIn = Layout.FanIn(layer), fanOut = Layout.FanOut(layer);
        var upstream = buffers.LayerGradient(layer, rows).Slice(first * fanOut, count * fanOut);
        var downstream = buffers.LayerGradient(layer - 1, rows).Slice(first * fanIn, count * fanIn);
        int at = first * fanIn, length = count * fanIn;
        Gemm.MultiplyTransposedTimesDerivative(count, fanIn, fanOut, upstream, fanOut, Layout.Weights(parameters, layer), fanOut, downstream,
            Activation, buffers.PreActivation(layer - 1, rows).Slice(at, length), buffers.Activation(layer - 1, rows).Slice(at, length),
            buffers.HasDropout ? buffers.DropoutMask(layer - 1, rows).Slice(at, length) : Span<float>.Empty, threads);
    }

    /// <summary>Draws the dropout mask of rows [first, first + count) of a hidden layer and applies it; a unit's draw
    /// depends on its place in the whole batch, not on the slice.</summary>
    private Span<float> Dropout(ReadOnlySpan<float> activation, LayerBuffers buffers, int layer, int rows, int first, int count,
        float rate, ulong seed)
    {
        int width = Layout.FanOut(layer);
        var mask = buffers.DropoutMask(layer, rows).Slice(first * width, count * width);
        float keep = 1 / (1 - rate);
        ulong stream = seed ^ ((ulong)(layer + 1) * CounterRandom.Golden);
        ulong offset = (ulong)first * (ulong)width;
        DropoutMask.Fill(mask, stream, offset, rate, keep);
        var output = buffers.Output(layer, rows).Slice(first * width, count * width);
        TensorPrimitives.Multiply(activation, mask, output);
        return output;
    }
}
