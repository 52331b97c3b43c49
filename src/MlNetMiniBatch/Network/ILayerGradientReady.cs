namespace MlNetMiniBatch.Network;

/// <summary>Told by <see cref="MultilayerPerceptron.Backward"/> as soon as a layer's weight and bias gradients are final
/// (the output layer first), so that their reduction across ranks can start while the layers below are back-propagated.</summary>
internal interface ILayerGradientReady
{
    void LayerReady(int layer);
}
