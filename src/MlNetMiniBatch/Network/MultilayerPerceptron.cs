using System.Numerics.Tensors;
using MlNetMiniBatch.Kernels;

namespace MlNetMiniBatch.Network;

/// <summary>
/// Forward and backward passes of a stack of dense layers over a batch held row-major in spans.
/// Hidden layers apply <see cref="Activation"/>; the last layer is linear (its logits go to the task's <see cref="Tasks.TrainingTask.Loss"/>).
/// The class holds no parameters: they are passed in, so training, scoring and gradient checks share this code.
/// </summary>
internal sealed class MultilayerPerceptron
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
        var layerInput = input;
        for (int l = 0; l < Layout.LayerCount; l++)
        {
            int fanIn = Layout.FanIn(l), fanOut = Layout.FanOut(l);
            var z = buffers.PreActivation(l, rows);
            bool hidden = l < Layout.LayerCount - 1;
            var a = hidden ? buffers.Activation(l, rows) : Span<float>.Empty;
            // z[rows × fanOut] = input[rows × fanIn] · W[fanIn × fanOut] + b, and a = f(z) for a hidden layer,
            // the bias and activation applied to each tile of z as the GEMM finishes it.
            Gemm.MultiplyAddBias(rows, fanOut, fanIn, layerInput, fanIn, Layout.Weights(parameters, l), fanOut, z,
                Layout.Bias(parameters, l), Activation, a, threads);
            layerInput = !hidden ? z : dropout > 0 ? Dropout(a, buffers, l, rows, dropout, dropoutSeed) : a;
        }
        return layerInput;
    }

    /// <summary>
    /// Back-propagates <paramref name="logitGradient"/> [rows × outputs] (already scaled to the batch mean) through the
    /// layers kept by the last <see cref="Forward"/> and writes every parameter's gradient into <paramref name="gradient"/>.
    /// Adds l2 · W to the weight gradients when <paramref name="l2"/> is positive (biases are not penalised).
    /// </summary>
    /// <param name="ready">Told of each layer whose gradient is final, or null.</param>
    public void Backward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, int rows, LayerBuffers buffers,
        ReadOnlySpan<float> logitGradient, Span<float> gradient, float l2, int threads, ILayerGradientReady? ready = null)
    {
        var upstream = buffers.GradientScratch(0, rows * Layout.OutputSize);
        logitGradient.Slice(0, rows * Layout.OutputSize).CopyTo(upstream);
        for (int l = Layout.LayerCount - 1; l >= 0; l--)
        {
            int fanIn = Layout.FanIn(l), fanOut = Layout.FanOut(l);
            ReadOnlySpan<float> layerInput = l == 0 ? input.Slice(0, rows * fanIn) : buffers.Output(l - 1, rows);
            var dW = Layout.Weights(gradient, l);
            // dW[fanIn × fanOut] = inputᵀ[fanIn × rows] · dZ[rows × fanOut]
            Gemm.Multiply(true, false, fanIn, fanOut, rows, layerInput, fanIn, upstream, fanOut, dW, fanOut, accumulate: false, threads);
            if (l2 > 0)
                TensorPrimitives.MultiplyAdd(Layout.Weights(parameters, l), l2, dW, dW);
            var dB = Layout.Bias(gradient, l);
            dB.Clear();
            for (int r = 0; r < rows; r++)
                TensorPrimitives.Add(dB, upstream.Slice(r * fanOut, fanOut), dB);
            ready?.LayerReady(l);
            if (l == 0)
                break;
            // dZ of the layer below = (dZ[rows × fanOut] · Wᵀ[fanOut × fanIn]) ⊙ dropout mask ⊙ f'(z), the mask and
            // the derivative applied to each tile as the GEMM finishes it.
            var downstream = buffers.GradientScratch((Layout.LayerCount - l) & 1, rows * fanIn);
            Gemm.MultiplyTransposedTimesDerivative(rows, fanIn, fanOut, upstream, fanOut, Layout.Weights(parameters, l), fanOut, downstream,
                Activation, buffers.PreActivation(l - 1, rows), buffers.Activation(l - 1, rows),
                buffers.HasDropout ? buffers.DropoutMask(l - 1, rows) : Span<float>.Empty, threads);
            ready?.Advance();
            upstream = downstream;
        }
    }

    private static Span<float> Dropout(ReadOnlySpan<float> activation, LayerBuffers buffers, int layer, int rows, float rate, ulong seed)
    {
        var mask = buffers.DropoutMask(layer, rows);
        float keep = 1 / (1 - rate);
        ulong stream = seed ^ ((ulong)(layer + 1) * 0x9E3779B97F4A7C15UL);
        for (int i = 0; i < mask.Length; i++)
            mask[i] = CounterRandom.NextFloat(stream, (ulong)i) < rate ? 0f : keep;
        var output = buffers.Output(layer, rows);
        TensorPrimitives.Multiply(activation, mask, output);
        return output;
    }
}
