namespace MlNetMiniBatch.Network;

/// <summary>
/// Starting weights: He-uniform (variance 2 / fanIn) for layers feeding a ReLU-family activation, which keeps the
/// signal's variance through rectifiers; Glorot-uniform (variance 2 / (fanIn + fanOut)) otherwise and for the output
/// layer. Biases start at zero.
/// </summary>
internal static class WeightInitializer
{
    public static void Initialize(NetworkLayout layout, NeuralNetworkActivation activation, Span<float> parameters, Random random)
    {
        bool rectifier = activation is NeuralNetworkActivation.ReLU or NeuralNetworkActivation.LeakyReLU;
        for (int l = 0; l < layout.LayerCount; l++)
        {
            bool isOutput = l == layout.LayerCount - 1;
            int fanIn = layout.FanIn(l), fanOut = layout.FanOut(l);
            double limit = rectifier && !isOutput ? Math.Sqrt(6.0 / fanIn) : Math.Sqrt(6.0 / (fanIn + fanOut));
            var weights = layout.Weights(parameters, l);
            for (int i = 0; i < weights.Length; i++)
                weights[i] = (float)((random.NextDouble() * 2 - 1) * limit);
            layout.Bias(parameters, l).Clear();
        }
    }
}
