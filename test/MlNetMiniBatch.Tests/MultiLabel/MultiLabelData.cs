using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Examples;
using MlNetMiniBatch.Tests.Integration;

namespace MlNetMiniBatch.Tests.MultiLabel;

/// <summary>Four features and three labels that depend on them: "x0 high" (x0 &gt; 0), "sum high" (x0 + x1 &gt; 0.3) and
/// "same sign" (x2·x3 &gt; 0), which needs the hidden layer. The columns X0..X3 are the model host's scoring input.</summary>
public sealed class MultiLabelPoint
{
    public float X0 { get; set; }
    public float X1 { get; set; }
    public float X2 { get; set; }
    public float X3 { get; set; }
    [VectorType(3)] public bool[] Label { get; set; } = [];
}

/// <summary>What a PredictionEngine reads from a multi-label model: vectors of bool and of float.</summary>
public sealed class MultiLabelPrediction
{
    public bool[] PredictedLabel { get; set; } = [];
    public float[] Score { get; set; } = [];
    public float[] Probability { get; set; } = [];
}

internal static class MultiLabelData
{
    public static readonly string[] LabelNames = ["x0 high", "sum high", "same sign"];

    public static MultiLabelPoint[] Points(int rows, int seed)
    {
        var random = new Random(seed);
        float Next() => (float)(random.NextDouble() * 2 - 1);
        return Enumerable.Range(0, rows).Select(_ =>
        {
            var p = new MultiLabelPoint { X0 = Next(), X1 = Next(), X2 = Next(), X3 = Next() };
            p.Label = [p.X0 > 0, p.X0 + p.X1 > 0.3f, p.X2 * p.X3 > 0];
            return p;
        }).ToArray();
    }

    /// <summary>The points as a view whose Label carries <see cref="LabelNames"/> as SlotNames.</summary>
    public static IDataView View(MLContext ml, MultiLabelPoint[] points) => ml.Data.LoadFromEnumerable(points, WithSlotNames<MultiLabelPoint>(LabelNames));

    public static IEstimator<ITransformer> Featurize(MLContext ml) => ml.Transforms.Concatenate("Features", "X0", "X1", "X2", "X3");

    public static NeuralNetworkOptions Options(int epochs = 30) => new()
    {
        HiddenLayers = [16], BatchSize = 16, Epochs = epochs, Seed = 3, LearningRate = 0.01f,
    };

    /// <summary>Trains the featurizer and a multi-label network on <paramref name="rows"/> points.</summary>
    public static (MLContext Ml, IDataView Data, TransformerChain<NeuralNetworkPredictionTransformer> Model) Train(int rows = 600, NeuralNetworkOptions? options = null)
    {
        var ml = new MLContext(seed: 1);
        var data = View(ml, Points(rows, seed: 11));
        var model = Featurize(ml).Append(ml.BinaryClassification.Trainers.NeuralNetwork(options ?? Options())).Fit(data);
        return (ml, data, model);
    }

    public static SchemaDefinition WithSlotNames<T>(string[] names)
    {
        var schema = SchemaDefinition.Create(typeof(T));
        var slotNames = new VBuffer<ReadOnlyMemory<char>>(names.Length, names.Select(n => n.AsMemory()).ToArray());
        schema["Label"].AddAnnotation("SlotNames", slotNames, new VectorDataViewType(TextDataViewType.Instance, names.Length));
        return schema;
    }
}

/// <summary>Fashion-MNIST images with five attributes derived from the class, a real multi-label set. The table must
/// match tools/fashion_attributes_sklearn.py, the scikit-learn reference.</summary>
internal static class FashionAttributes
{
    public static readonly string[] Names = ["footwear", "upper body", "long sleeves", "covers legs", "covers ankle"];

    // Class order: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot.
    private static readonly int[][] Members = [[5, 7, 9], [0, 2, 3, 4, 6], [2, 4, 6], [1, 3], [9]];

    public sealed class Image
    {
        [VectorType(FashionMnistData.PixelCount)] public float[] Features { get; set; } = [];
        [VectorType(5)] public bool[] Label { get; set; } = [];
    }

    /// <summary>The first <paramref name="rows"/> images of the shipped subset with their attributes as Label.</summary>
    public static IDataView Load(MLContext ml, bool train, int rows)
    {
        var source = FashionMnistData.Load(ml, TestData.ShippedFashionMnist(), train, rows);
        var images = new List<Image>();
        using (var cursor = source.GetRowCursor(source.Schema))
        {
            var label = cursor.GetGetter<uint>(source.Schema["Label"]);
            var features = cursor.GetGetter<VBuffer<float>>(source.Schema["Features"]);
            uint key = 0;
            VBuffer<float> pixels = default;
            while (cursor.MoveNext())
            {
                label(ref key);
                features(ref pixels);
                int fashionClass = (int)key - 1;
                images.Add(new Image { Features = pixels.DenseValues().ToArray(), Label = Members.Select(m => m.Contains(fashionClass)).ToArray() });
            }
        }
        return ml.Data.LoadFromEnumerable(images, MultiLabelData.WithSlotNames<Image>(Names));
    }
}
