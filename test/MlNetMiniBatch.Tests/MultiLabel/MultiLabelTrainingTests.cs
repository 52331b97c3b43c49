using Microsoft.ML;
using Microsoft.ML.Data;

using MlNetMiniBatch.Tests.Integration;

namespace MlNetMiniBatch.Tests.MultiLabel;

/// <summary>A vector-of-Boolean label on the binary trainer: it learns, its outputs are vectors with the label's
/// SlotNames, and PredictionEngine, GetOutputSchema, validation, early stopping and progress work as for the other tasks.</summary>
[TestClass]
public sealed class MultiLabelTrainingTests
{
    [TestMethod]
    public void TheNetworkLearnsEveryLabel()
    {
        var (ml, _, model) = MultiLabelData.Train();
        var test = MultiLabelData.View(ml, MultiLabelData.Points(400, seed: 12));
        var metrics = ml.BinaryClassification.EvaluateMultiLabel(model.Transform(test));

        var network = model.LastTransformer;
        Assert.AreEqual(NeuralNetworkTask.MultiLabelClassification, network.Model.Task);
        CollectionAssert.AreEqual(new[] { 4, 16, 3 }, network.Model.LayerSizes.ToArray());
        CollectionAssert.AreEqual(MultiLabelData.LabelNames, network.Model.ClassNames!.ToArray());
        CollectionAssert.AreEqual(MultiLabelData.LabelNames, metrics.PerLabel.Select(l => l.Name).ToArray());
        Assert.IsLessThan(0.06, metrics.HammingLoss);
        Assert.IsGreaterThan(0.85, metrics.SubsetAccuracy);
        foreach (var label in metrics.PerLabel)
            Assert.IsGreaterThan(0.97, label.AreaUnderRocCurve, label.Name);
        Assert.IsLessThan(network.Model.History[0].TrainLoss / 3, network.Model.History[^1].TrainLoss);
    }

    [TestMethod]
    public void OutputsAreVectorsWithTheLabelsSlotNamesInTheSchemaAndTheShape()
    {
        var (ml, data, model) = MultiLabelData.Train(rows: 100, MultiLabelData.Options(epochs: 1));
        var schema = model.Transform(data).Schema;
        var shape = MultiLabelData.Featurize(ml).Append(ml.BinaryClassification.Trainers.NeuralNetwork(MultiLabelData.Options()))
            .GetOutputSchema(TestData.ShapeOf(data.Schema));

        foreach (var (name, item) in new[] { ("Score", (DataViewType)NumberDataViewType.Single), ("Probability", NumberDataViewType.Single),
                     ("PredictedLabel", BooleanDataViewType.Instance) })
        {
            Assert.AreEqual(new VectorDataViewType((PrimitiveDataViewType)item, 3), schema[name].Type, name);
            VBuffer<ReadOnlyMemory<char>> slotNames = default;
            schema[name].GetSlotNames(ref slotNames);
            CollectionAssert.AreEqual(MultiLabelData.LabelNames, slotNames.DenseValues().Select(n => n.ToString()).ToArray(), name);

            var column = shape.Single(c => c.Name == name);
            Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, column.Kind, name);
            Assert.AreEqual(item, column.ItemType, name);
            Assert.IsTrue(column.Annotations.Any(a => a.Name == "SlotNames"), name);
        }
    }

    [TestMethod]
    public void PredictionEngineReadsBoolAndFloatArraysThatAgreeWithTransform()
    {
        var (ml, data, model) = MultiLabelData.Train(rows: 200, MultiLabelData.Options(epochs: 5));
        var engine = ml.Model.CreatePredictionEngine<MultiLabelPoint, MultiLabelPrediction>(model);
        var rows = MultiLabelData.Points(20, seed: 13);
        var transformed = ml.Data.CreateEnumerable<MultiLabelPrediction>(model.Transform(MultiLabelData.View(ml, rows)), reuseRowObject: false).ToArray();

        for (int i = 0; i < rows.Length; i++)
        {
            var predicted = engine.Predict(rows[i]);
            CollectionAssert.AreEqual(transformed[i].Score, predicted.Score);
            CollectionAssert.AreEqual(transformed[i].Probability, predicted.Probability);
            CollectionAssert.AreEqual(transformed[i].PredictedLabel, predicted.PredictedLabel);
            for (int j = 0; j < 3; j++)
            {
                Assert.AreEqual(1 / (1 + Math.Exp(-predicted.Score[j])), predicted.Probability[j], 1e-6);
                Assert.AreEqual(predicted.Probability[j] > 0.5f, predicted.PredictedLabel[j]);
            }
        }
    }

    [TestMethod]
    public void ValidationDataEarlyStoppingOnTheLossAndProgressWork()
    {
        var ml = new MLContext(seed: 1);
        var train = MultiLabelData.View(ml, MultiLabelData.Points(300, seed: 11));
        var validation = MultiLabelData.View(ml, MultiLabelData.Points(100, seed: 14));
        var reports = new List<TrainingProgress>();
        var options = MultiLabelData.Options(epochs: 200);
        options.EarlyStoppingPatience = 3;
        options.EarlyStoppingMinDelta = 0.01f;
        options.EarlyStoppingMetric = NeuralNetworkMetric.Loss;
        options.Progress = new SynchronousProgress(reports);
        var features = MultiLabelData.Featurize(ml).Fit(train);
        var model = ml.BinaryClassification.Trainers.NeuralNetwork(options).Fit(features.Transform(train), features.Transform(validation)).Model;

        Assert.AreEqual(TrainingStopReason.EarlyStopping, model.StopReason);
        Assert.IsLessThan(200, model.History.Count);
        Assert.IsTrue(model.History.All(e => e.ValidationLoss is > 0 and < 1), "validation loss each epoch");
        Assert.IsTrue(model.History.All(e => e.Validation?.Accuracy is > 0.5 and <= 1), "validation accuracy (per label) each epoch");
        Assert.IsNotNull(model.BestEpoch);
        Assert.AreEqual(model.History.Count, reports.Count(r => r.IsEpochEnd));
    }

    [TestMethod]
    public void AValidationFractionHoldsOutRowsWithoutStratifying()
    {
        var ml = new MLContext(seed: 1);
        var data = MultiLabelData.Featurize(ml).Fit(MultiLabelData.View(ml, MultiLabelData.Points(400, seed: 11)))
            .Transform(MultiLabelData.View(ml, MultiLabelData.Points(400, seed: 11)));
        var options = MultiLabelData.Options(epochs: 2);
        options.ValidationFraction = 0.25f;
        var model = ml.BinaryClassification.Trainers.NeuralNetwork(options).Fit(data).Model;

        Assert.AreEqual(300, model.History[0].Rows);
        Assert.IsNotNull(model.History[0].ValidationLoss);
    }

    private sealed class SynchronousProgress(List<TrainingProgress> reports) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => reports.Add(value);
    }
}
