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
            else
            {
                if (Mask != null)
                    TensorPrimitives.Multiply(cRow, new ReadOnlySpan<float>(Mask + at, w), cRow);
                Activations.Backward(Activation, new ReadOnlySpan<float>(Z + at, w), new ReadOnlySpan<float>(A + at, w), cRow);
            }
        }
    }
}
