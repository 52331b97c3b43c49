namespace MlNetMiniBatch.Network;

/// <summary>Told by <see cref="MultilayerPerceptron.Backward"/> as soon as a layer's weight and bias gradients are final
/// (the output layer first), so that their reduction across ranks can start while the layers below are back-propagated.</summary>
internal interface ILayerGradientReady
{
    void LayerReady(int layer);

    /// <summary>Called between the two matrix products of each layer below the output layer, or, when the input
    /// gradients of all layers run first as row slices, once after them: a moment for the started reductions to advance,
    /// since MPI makes progress only inside its calls.</summary>
    void Advance();
}
