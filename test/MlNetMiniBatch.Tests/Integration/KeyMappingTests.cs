using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>Multiclass output keeps the label's key values: MapKeyToValue("PredictedLabel") restores the original
/// strings and the Score column's SlotNames are the class names in key order.</summary>
[TestClass]
public sealed class KeyMappingTests
{
    public sealed class NamedPrediction
    {
        public string Label { get; set; } = "";
        public string PredictedLabel { get; set; } = "";
    }

    [TestMethod]
    public void MapKeyToValueInTheEstimatorChainRestoresTheStringLabels()
    {
        var ml = new MLContext(seed: 1);
        var test = TestData.Blobs(300, seed: 13);
        var pipeline = TestData.Featurize(ml, NeuralNetworkTask.MulticlassClassification)
            .Append(ml.MulticlassClassification.Trainers.NeuralNetwork(TestData.GoodOptions(NeuralNetworkTask.MulticlassClassification)))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Append(ml.Transforms.Conversion.MapKeyToValue("Label"));

        var model = pipeline.Fit(ml.Data.LoadFromEnumerable(TestData.Blobs(900, seed: 12)));
        var scored = model.Transform(ml.Data.LoadFromEnumerable(test));

        Assert.AreEqual(TextDataViewType.Instance, scored.Schema["PredictedLabel"].Type);
        var predictions = ml.Data.CreateEnumerable<NamedPrediction>(scored, reuseRowObject: false).ToArray();
        CollectionAssert.AreEqual(test.Select(t => t.Label).ToArray(), predictions.Select(p => p.Label).ToArray());
        CollectionAssert.IsSubsetOf(predictions.Select(p => p.PredictedLabel).Distinct().ToArray(), TestData.ClassNames);
        Assert.HasCount(3, predictions.Select(p => p.PredictedLabel).Distinct());
        double accuracy = predictions.Count(p => p.PredictedLabel == p.Label) / (double)predictions.Length;
        Assert.IsGreaterThan(0.9, accuracy);

        using var engine = ml.Model.CreatePredictionEngine<ClassPoint, NamedPrediction>(model);
        for (int i = 0; i < 30; i++)
            Assert.AreEqual(predictions[i].PredictedLabel, engine.Predict(test[i]).PredictedLabel, $"row {i}");
    }

    [TestMethod]
    public void MapKeyToValueAppendedToTheFittedModelRestoresTheStringLabels()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(TestData.Blobs(900, seed: 12));
        var fitted = TestData.Featurize(ml, NeuralNetworkTask.MulticlassClassification)
            .Append(ml.MulticlassClassification.Trainers.NeuralNetwork(TestData.GoodOptions(NeuralNetworkTask.MulticlassClassification)))
            .Fit(train);
        var mapBack = ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(fitted.Transform(train));
        var model = fitted.Append(mapBack);

        var test = TestData.Blobs(300, seed: 13);
        var predicted = model.Transform(ml.Data.LoadFromEnumerable(test)).GetColumn<ReadOnlyMemory<char>>("PredictedLabel")
            .Select(v => v.ToString()).ToArray();

        Assert.HasCount(test.Length, predicted);
        CollectionAssert.IsSubsetOf(predicted.Distinct().ToArray(), TestData.ClassNames);
        Assert.IsGreaterThan(0.9, test.Zip(predicted).Count(p => p.First.Label == p.Second) / (double)test.Length);
    }

    [TestMethod]
    public void ScoreSlotNamesAndPredictedLabelKeyValuesAreTheClassNames()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(TestData.Blobs(600, seed: 12));
        var model = TestData.Featurize(ml, NeuralNetworkTask.MulticlassClassification)
            .Append(ml.MulticlassClassification.Trainers.NeuralNetwork(TestData.Options(epochs: 3)))
            .Fit(train);
        var scored = model.Transform(train);

        VBuffer<ReadOnlyMemory<char>> labelKeys = default, slotNames = default, predictedKeys = default;
        scored.Schema["Label"].GetKeyValues(ref labelKeys);
        var classNames = labelKeys.DenseValues().Select(v => v.ToString()).ToArray();
        CollectionAssert.AreEquivalent(TestData.ClassNames, classNames);

        Assert.IsTrue(scored.Schema["Score"].HasSlotNames(), "Score has slot names");
        scored.Schema["Score"].GetSlotNames(ref slotNames);
        CollectionAssert.AreEqual(classNames, slotNames.DenseValues().Select(v => v.ToString()).ToArray());

        scored.Schema["PredictedLabel"].GetKeyValues(ref predictedKeys);
        CollectionAssert.AreEqual(classNames, predictedKeys.DenseValues().Select(v => v.ToString()).ToArray());
        Assert.AreEqual(new KeyDataViewType(typeof(uint), 3), scored.Schema["PredictedLabel"].Type);

        CollectionAssert.AreEqual(classNames, model.LastTransformer.Model.ClassNames!.ToArray());
    }

    [TestMethod]
    public void NumericLabelValuesSurviveTheRoundTrip()
    {
        // A label whose key values are not text (here Single) still maps back to the original values.
        var ml = new MLContext(seed: 1);
        var rows = TestData.Blobs(600, seed: 14)
            .Select(p => new { Label = (float)Array.IndexOf(TestData.ClassNames, p.Label) * 10 + 5, p.X, p.Y, p.Noise }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.Concatenate("Features", "X", "Y", "Noise"))
            .Append(ml.MulticlassClassification.Trainers.NeuralNetwork(TestData.GoodOptions(NeuralNetworkTask.MulticlassClassification)))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Fit(data);
        var scored = model.Transform(data);

        Assert.AreEqual(NumberDataViewType.Single, scored.Schema["PredictedLabel"].Type);
        var predicted = scored.GetColumn<float>("PredictedLabel").ToArray();
        CollectionAssert.IsSubsetOf(predicted.Distinct().ToArray(), new[] { 5f, 15f, 25f });
        Assert.IsGreaterThan(0.9, rows.Zip(predicted).Count(p => p.First.Label == p.Second) / (double)rows.Length);
    }
}
