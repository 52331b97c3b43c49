using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// What one training step of a dense network must at least move and compute, from its shapes alone: every GEMM reads
/// its two operands and writes its result once, every epilogue reads what it needs once, and the optimizer streams the
/// parameters, the gradient and its state arrays once. A lower bound: packing and blocking re-read some operands.
/// </summary>
internal readonly record struct StepCost(double ForwardFlops, double BackwardFlops, long ParameterBytes, long ModelStreamBytes,
    long OptimizerBytes, long ActivationBytes)
{
    /// <param name="stateArrays">Arrays the size of the model the optimizer keeps (SGD with momentum: 1, Adam: 2).</param>
    /// <param name="keepsPreActivation">Whether hidden layers keep z apart from f(z) (<see cref="LayerBuffers.KeepsPreActivation"/>).</param>
    public static StepCost For(NetworkLayout layout, int rows, int stateArrays, bool keepsPreActivation)
    {
        const int F = sizeof(float);
        long forwardMacs = 0, backwardMacs = 0, activations = 0, upperWeights = 0;
        for (int l = 0; l < layout.LayerCount; l++)
        {
            long fanIn = layout.FanIn(l), fanOut = layout.FanOut(l);
            bool hidden = l < layout.LayerCount - 1;
            forwardMacs += rows * fanIn * fanOut;
            backwardMacs += rows * fanIn * fanOut * (l > 0 ? 2 : 1); // dW for every layer, dX for all but the first
            // Forward: read the input, write z (and f(z) for a hidden layer that keeps z apart). Backward: dW reads the
            // input and dZ, dB reads dZ, and dX (l > 0) reads dZ, writes the layer below's dZ and reads its z or f(z) for
            // the derivative.
            activations += rows * fanIn + rows * fanOut * (hidden && keepsPreActivation ? 2 : 1);
            activations += rows * fanIn + 2 * rows * fanOut;
            if (l > 0)
            {
                activations += rows * fanOut + 2 * rows * fanIn;
                upperWeights += fanIn * fanOut;
            }
        }
        long p = layout.ParameterCount;
        // Forward reads every weight, backward writes every gradient and reads the weights of all layers but the first.
        long model = p + p + upperWeights;
        long optimizer = (2 + stateArrays) * p + (1 + stateArrays) * p; // read p, g, state; write p, state
        return new StepCost(2.0 * forwardMacs, 2.0 * backwardMacs, p * F, model * F, optimizer * F, activations * F);
    }
}
