using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Scoring;

/// <summary>Transform reads rows ahead in blocks to score them together; every served row must still carry its own
/// pass-through values and its own scores, across block boundaries and under shuffling.</summary>
[TestClass]
public sealed class BlockScoringTests
{
    private sealed class Row
    {
        public string Label { get; set; } = "";
        [VectorType(4)] public float[] Features { get; set; } = [];
        public float Id { get; set; }
    }

    private sealed class Scored
    {
        public float Id { get; set; }
        [VectorType(4)] public float[] Features { get; set; } = [];
        public float[] Score { get; set; } = [];
        public uint PredictedLabel { get; set; }
    }

    private sealed class Input
    {
        [VectorType(4)] public float[] Features { get; set; } = [];
    }

    private sealed class Output
    {
        public float[] Score { get; set; } = [];
    }

    [TestMethod]
    public void EveryRowKeepsItsOwnValuesAndScoresAcrossBlocks()
    {
        var ml = new MLContext(1);
        var rows = Synthetic.Blobs(150).Select((r, i) => new Row { Label = r.Label, Features = r.Features, Id = i }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions { HiddenLayers = [8], Epochs = 2, Seed = 1 }).Fit(keyed);
        var scored = ml.Data.CreateEnumerable<Scored>(model.Transform(keyed), reuseRowObject: false).ToArray();
        using var engine = ml.Model.CreatePredictionEngine<Input, Output>(model);

        Assert.HasCount(150, scored);
        for (int i = 0; i < scored.Length; i++)
        {
            Assert.AreEqual(i, scored[i].Id);
            CollectionAssert.AreEqual(rows[i].Features, scored[i].Features);
            var single = engine.Predict(new Input { Features = rows[i].Features }).Score;
            for (int k = 0; k < 3; k++)
                Assert.AreEqual(single[k], scored[i].Score[k], 1e-6f, $"row {i} class {k}");
            Assert.AreEqual((uint)(Array.IndexOf(scored[i].Score, scored[i].Score.Max()) + 1), scored[i].PredictedLabel);
        }
    }

    [TestMethod]
    public void AShuffledCursorOverTheScoresStaysAligned()
    {
        var ml = new MLContext(1);
        var rows = Synthetic.Blobs(200).Select((r, i) => new Row { Label = r.Label, Features = r.Features, Id = i }).ToArray();
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions { HiddenLayers = [8], Epochs = 1, Seed = 1 }).Fit(keyed);
        var inOrder = ml.Data.CreateEnumerable<Scored>(model.Transform(keyed), reuseRowObject: false).ToDictionary(s => s.Id, s => s.Score[0]);
        var shuffled = model.Transform(keyed);
        Assert.IsTrue(shuffled.CanShuffle);
        using var cursor = shuffled.GetRowCursor(shuffled.Schema, new Random(3));
        var id = cursor.GetGetter<float>(shuffled.Schema["Id"]);
        var score = cursor.GetGetter<VBuffer<float>>(shuffled.Schema["Score"]);
        float rowId = 0;
        VBuffer<float> rowScore = default;
        var order = new List<float>();
        while (cursor.MoveNext())
        {
            id(ref rowId);
            score(ref rowScore);
            order.Add(rowId);
            Assert.AreEqual(inOrder[rowId], rowScore.GetValues()[0], $"row {rowId}");
        }
        Assert.HasCount(200, order);
        CollectionAssert.AreNotEqual(Enumerable.Range(0, 200).Select(i => (float)i).ToArray(), order.ToArray(), "the cursor did shuffle");
    }
}
