using MlNetMiniBatch.Network;
using MlNetMiniBatch.Scoring;

namespace MlNetMiniBatch.Onnx;

/// <summary>
/// The ONNX nodes that compute what <see cref="NeuralNetworkPredictionTransformer"/> computes, column for column:
/// per layer MatMul + Add, then the hidden activation (GELU in its exact erf form, LeakyReLU with slope 0.01); then
/// the task's tail (<see cref="Tasks.TrainingTask.EmitOnnxOutputs"/>): multiclass Score = Softmax(logits), PredictedLabel = ArgMax + 1 cast to uint32 (ML.NET's 1-based key);
/// binary Score = logit, Probability = Sigmoid(logit), PredictedLabel = logit &gt; 0;
/// regression Score = logit · LabelStandardDeviation + LabelMean.
/// Every operator exists unchanged from opset 9 to 13 for these 2-D shapes, so the graph suits ML.NET's converter
/// (opset 9 to 12) and the standalone export (opset 13).
/// </summary>
internal static class NetworkOnnxGraph
{
    public const int MinimumOpset = 9;

    public static void Emit(OnnxGraph graph, NeuralNetworkModelParameters model, string featureColumnName)
    {
        var layout = model.Layout;
        string x = graph.Input(featureColumnName, new VectorDataViewType(NumberDataViewType.Single, model.InputSize));
        string z = x;
        for (int l = 0; l < layout.LayerCount; l++)
        {
            int fanIn = layout.FanIn(l), fanOut = layout.FanOut(l);
            var width = new VectorDataViewType(NumberDataViewType.Single, fanOut);
            string w = graph.Initializer($"NeuralNetwork.W{l}", model.GetWeights(l).Span, [fanIn, fanOut]);
            string b = graph.Initializer($"NeuralNetwork.B{l}", model.GetBiases(l).Span, [fanOut]);
            string product = graph.Intermediate($"NeuralNetwork.MatMul{l}", width);
            graph.Node("MatMul", [x, w], [product]);
            z = graph.Intermediate($"NeuralNetwork.Z{l}", width);
            graph.Node("Add", [product, b], [z]);
            if (l < layout.LayerCount - 1)
                x = Activation(graph, model.Activation, z, l, width);
        }

        model.TrainingTask.EmitOnnxOutputs(graph, model, z);
    }

    private static string Activation(OnnxGraph graph, NeuralNetworkActivation activation, string z, int layer, DataViewType type)
    {
        string a = graph.Intermediate($"NeuralNetwork.A{layer}", type);
        switch (activation)
        {
            case NeuralNetworkActivation.ReLU:
                graph.Node("Relu", [z], [a]);
                break;
            case NeuralNetworkActivation.LeakyReLU:
                graph.Node("LeakyRelu", [z], [a], OnnxAttribute.Of("alpha", Activations.LeakySlope));
                break;
            case NeuralNetworkActivation.Tanh:
                graph.Node("Tanh", [z], [a]);
                break;
            case NeuralNetworkActivation.Sigmoid:
                graph.Node("Sigmoid", [z], [a]);
                break;
            case NeuralNetworkActivation.GELU:
            {
                // x · Φ(x) = 0.5 · x · (1 + erf(x / √2)), the exact form the managed scorer computes.
                string invSqrt2 = graph.Initializer($"NeuralNetwork.InvSqrt2_{layer}", [0.70710678118654752f], [1]);
                string one = graph.Initializer($"NeuralNetwork.OneF_{layer}", [1f], [1]);
                string half = graph.Initializer($"NeuralNetwork.Half_{layer}", [0.5f], [1]);
                string scaled = graph.Intermediate($"NeuralNetwork.GeluScaled{layer}", type);
                graph.Node("Mul", [z, invSqrt2], [scaled]);
                string erf = graph.Intermediate($"NeuralNetwork.GeluErf{layer}", type);
                graph.Node("Erf", [scaled], [erf]);
                string onePlus = graph.Intermediate($"NeuralNetwork.GeluOnePlus{layer}", type);
                graph.Node("Add", [erf, one], [onePlus]);
                string product = graph.Intermediate($"NeuralNetwork.GeluProduct{layer}", type);
                graph.Node("Mul", [z, onePlus], [product]);
                graph.Node("Mul", [product, half], [a]);
                break;
            }
            default:
                throw new NotSupportedException($"ONNX export does not know the activation {activation}.");
        }
        return a;
    }
}
