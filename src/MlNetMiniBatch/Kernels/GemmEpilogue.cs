using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Kernels;

/// <summary>What a dense layer does to a GEMM's output right after it is computed.</summary>
internal enum EpilogueKind
{
    None,
    /// <summary>Forward: z += bias (per column), then, when <see cref="GemmEpilogue.Out"/> is set, out = f(z).</summary>
    BiasActivation,
    /// <summary>Backward: dA ← dA ⊙ mask (when set) ⊙ f'(z) — the gradient through a hidden layer's dropout and activation.</summary>
    ActivationDerivative,
    /// <summary>Weight gradient: once each block of C (a block of dW) is finished, dW += l2·W (when
    /// <see cref="GemmEpilogue.L2"/> &gt; 0) and <see cref="GemmEpilogue.Step"/> updates those weights.</summary>
    OptimizerStep,
}

/// <summary>
/// An element-wise parameter update the backward pass can apply to each block of a weight gradient as soon as it is
/// finished (while it is still in this core's cache) instead of in a separate pass over the whole model.
/// <see cref="Update"/>(<see cref="State"/>, start, length) updates parameters [start, start + length) of the flat
/// parameter vector from the same range of the gradient; disjoint ranges may be updated concurrently.
/// </summary>
internal unsafe readonly struct FusedStep(delegate*<nint, int, int, void> update, nint state)
{
    public readonly delegate*<nint, int, int, void> Update = update;
    public readonly nint State = state;

    public bool IsSet => Update != null;

    public void Apply(int start, int length) => Update(State, start, length);
}

/// <summary>
/// A per-tile step applied to each finished tile of C while it is still in L1, instead of separate passes over the
/// whole output afterwards: the forward pass's bias add and activation, the backward pass's activation derivative.
/// Matrices other than C share C's row/column indices and have leading dimension <see cref="Ld"/>.
/// </summary>
internal unsafe struct GemmEpilogue
{
    public EpilogueKind Kind;
    public NeuralNetworkActivation Activation;
    public float* Bias;
    public float* Out;
    public float* Z;
    public float* A;
    public float* Mask;
    public nint Ld;

    /// <summary><see cref="EpilogueKind.OptimizerStep"/>: the weights W (C's shape), the L2 coefficient, the update
    /// and where C[0, 0] sits in the flat parameter vector.</summary>
    public float* Weights;
    public float L2;
    public FusedStep Step;
    public int ParameterOffset;

    /// <summary>
    /// Called once per finished block of C (every tile of it done, its last k block included), the h×w block whose
    /// top-left element is C[row0, col0]: the fused optimizer step, which needs whole rows of work to amortise its
    /// calls (a tile row is only 32 floats).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void FinishBlock(int row0, int col0, int h, int w, float* c, nint ldc)
    {
        if (Kind != EpilogueKind.OptimizerStep)
            return;
        if (w == Ld && ldc == Ld)
        {
            // Full-width rows are one contiguous range.
            w *= h;
            h = 1;
        }
        for (int i = 0; i < h; i++)
        {
            nint at = ((row0 + i) * Ld) + col0;
            if (L2 > 0)
            {
                var cRow = new Span<float>(c + (i * ldc), w);
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(Weights + at, w), L2, cRow, cRow);
            }
            Step.Apply(checked(ParameterOffset + (int)at), w);
        }
    }

    /// <summary>Applies the epilogue to the finished h×w block of C whose top-left element is C[row0, col0].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Apply(int row0, int col0, int h, int w, float* c, nint ldc)
    {
        for (int i = 0; i < h; i++)
        {
            var cRow = new Span<float>(c + (i * ldc), w);
            nint at = ((row0 + i) * Ld) + col0;
            if (Kind == EpilogueKind.BiasActivation)
            {
                TensorPrimitives.Add(cRow, new ReadOnlySpan<float>(Bias + col0, w), cRow);
                if (Out != null)
                    Activations.Forward(Activation, cRow, new Span<float>(Out + at, w));
            }
            else if (Kind == EpilogueKind.ActivationDerivative)
            {
                if (Mask != null)
                    TensorPrimitives.Multiply(cRow, new ReadOnlySpan<float>(Mask + at, w), cRow);
                Activations.Backward(Activation, new ReadOnlySpan<float>(Z + at, w), new ReadOnlySpan<float>(A + at, w), cRow);
            }
        }
    }
}
