using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Persistence;

namespace MlNetMiniBatch.Tests.Correctness;

/// <summary>
/// What training allows, saving and loading allow: a linear model over 2^25 hashed features (ProduceHashedNgrams with
/// numberOfBits: 25) used to save and then fail to load ("Invalid layer size 33554432"). Models too big for one
/// model-file block fail at Save, with the numbers.
/// </summary>
[TestClass]
public sealed class WideModelPersistenceTests
{
    private const int Features = 1 << 25;

    [TestMethod]
    public void ALinearModelOverTwoToThe25FeaturesSavesAndLoadsTheSameWeights()
    {
        var ml = new MLContext(1);
        var layout = new NetworkLayout([Features, 1]);
        var parameters = new float[layout.ParameterCount];
        for (int i = 0; i < parameters.Length; i += 4099)
            parameters[i] = (i % 7 - 3) * 0.25f; // mostly zeros: the zip entry stays small, the block is still 128 MB
        parameters[^1] = 0.5f;                    // the bias
        var model = new NeuralNetworkModelParameters(NeuralNetworkTask.BinaryClassification, layout, NeuralNetworkActivation.ReLU,
            parameters, null, 0, 1, []);
        var featureType = new VectorDataViewType(NumberDataViewType.Single, Features);
        var transformer = new NeuralNetworkPredictionTransformer(ml, model, "Features", featureType);
        var schema = new DataViewSchema.Builder();
        schema.AddColumn("Features", featureType);
        string path = Path.Combine(Path.GetTempPath(), $"wide-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(transformer, schema.ToSchema(), path);
            var loaded = (NeuralNetworkPredictionTransformer)ml.Model.Load(path, out var inputSchema);

            Assert.AreEqual(Features, loaded.Model.InputSize);
            Assert.AreEqual(Features, ((VectorDataViewType)inputSchema["Features"].Type).Size);
            Assert.IsTrue(loaded.Model.Parameters.SequenceEqual(parameters), "every weight and the bias come back");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void AModelTooBigForOneBlockIsRefusedAtSaveWithItsSize()
    {
        TransformerFormat.CheckFits(400_000_000); // 1.6 GB of weights fits
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => TransformerFormat.CheckFits(600_000_000));
        Assert.Contains("600000000 parameters", error.Message);
        Assert.Contains("2288 MB", error.Message);
        Assert.Contains("Save a smaller network", error.Message);
    }
}
