using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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

    /// <summary>
    /// Whether applying the epilogue to a block in pieces gives the same bits as applying it at once: true when it does
    /// only additions, multiplications and comparisons, element by element. TensorPrimitives' tanh, logistic and GELU
    /// compute a span's vector body and its tail in different ways, so there the columns a call starts and ends at
    /// change the last bit of the elements near them.
    /// </summary>
    public readonly bool GivesTheSameBitsInAnyPieces => Kind switch
    {
        EpilogueKind.None => true,
        EpilogueKind.BiasActivation => Out == null || Activation == NeuralNetworkActivation.ReLU,
        EpilogueKind.ActivationDerivative => Activation is NeuralNetworkActivation.ReLU or NeuralNetworkActivation.LeakyReLU,
        _ => false,
    };

    /// <summary>Applies the epilogue to the finished h×w block of C whose top-left element is C[row0, col0].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Apply(int row0, int col0, int h, int w, float* c, nint ldc)
    {
        // ReLU (the default) and the output layer's bias alone run inline: per tile row, two TensorPrimitives calls cost
        // more than the arithmetic they do on 32 floats.
        if (Kind == EpilogueKind.BiasActivation && (Out == null || Activation == NeuralNetworkActivation.ReLU))
        {
            AddBiasThenRelu(row0, col0, h, w, c, ldc);
            return;
        }

        if (Kind == EpilogueKind.ActivationDerivative && Activation is NeuralNetworkActivation.ReLU or NeuralNetworkActivation.LeakyReLU)
        {
            MaskThenScaleWherePositive(row0, col0, h, w, c, ldc, Activation == NeuralNetworkActivation.ReLU ? 0f : Activations.LeakySlope);
            return;
        }

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

    /// <summary>z = c + bias, stored in c; then out = max(z, 0) when <see cref="Out"/> is set, with
    /// <c>TensorPrimitives.Max(z, 0f)</c>'s result for every input (NaN stays
    /// NaN, −0 becomes +0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void AddBiasThenRelu(int row0, int col0, int h, int w, float* c, nint ldc)
    {
        float* bias = Bias + col0;
        bool relu = Out != null;
        for (int i = 0; i < h; i++)
        {
            float* cRow = c + (i * ldc);
            float* outRow = relu ? Out + ((row0 + i) * Ld) + col0 : null;
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j + 16 <= w; j += 16)
                {
                    var z = Vector512.Load(cRow + j) + Vector512.Load(bias + j);
                    z.Store(cRow + j);
                    if (relu)
                        Vector512.ConditionalSelect(Vector512.GreaterThan(z, Vector512<float>.Zero) | ~Vector512.Equals(z, z), z, Vector512<float>.Zero)
                            .Store(outRow + j);
                }
            }

            if (Vector256.IsHardwareAccelerated)
            {
                for (; j + 8 <= w; j += 8)
                {
                    var z = Vector256.Load(cRow + j) + Vector256.Load(bias + j);
                    z.Store(cRow + j);
                    if (relu)
                        Vector256.ConditionalSelect(Vector256.GreaterThan(z, Vector256<float>.Zero) | ~Vector256.Equals(z, z), z, Vector256<float>.Zero)
                            .Store(outRow + j);
                }
            }

            for (; j < w; j++)
            {
                float z = cRow[j] + bias[j];
                cRow[j] = z;
                if (relu)
                    outRow[j] = z > 0 || float.IsNaN(z) ? z : 0f;
            }
        }
    }

    /// <summary>c ← c ⊙ mask (when set), then c ← c · (z &gt; 0 ? 1 : <paramref name="negativeScale"/>): the same two
    /// multiplications, in the same order, as the separate passes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void MaskThenScaleWherePositive(int row0, int col0, int h, int w, float* c, nint ldc, float negativeScale)
    {
        for (int i = 0; i < h; i++)
        {
            float* cRow = c + (i * ldc);
            nint at = ((row0 + i) * Ld) + col0;
            float* zRow = Z + at;
            float* maskRow = Mask == null ? null : Mask + at;
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                var negative = Vector512.Create(negativeScale);
                for (; j + 16 <= w; j += 16)
                {
                    var g = Vector512.Load(cRow + j);
                    if (maskRow != null)
                        g *= Vector512.Load(maskRow + j);
                    var scale = Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.Load(zRow + j), Vector512<float>.Zero), Vector512<float>.One, negative);
                    (g * scale).Store(cRow + j);
                }
            }

            if (Vector256.IsHardwareAccelerated)
            {
                var negative = Vector256.Create(negativeScale);
                for (; j + 8 <= w; j += 8)
                {
                    var g = Vector256.Load(cRow + j);
                    if (maskRow != null)
                        g *= Vector256.Load(maskRow + j);
                    var scale = Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Load(zRow + j), Vector256<float>.Zero), Vector256<float>.One, negative);
                    (g * scale).Store(cRow + j);
                }
            }

            for (; j < w; j++)
            {
                float g = cRow[j];
                if (maskRow != null)
                    g *= maskRow[j];
                cRow[j] = g * (zRow[j] > 0 ? 1f : negativeScale);
            }
        }
    }
}
