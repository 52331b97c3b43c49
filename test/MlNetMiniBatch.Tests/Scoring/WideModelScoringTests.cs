using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Scoring;

namespace MlNetMiniBatch.Tests.Scoring;

/// <summary>
/// Models over very many features (hashed n-grams: 2^25 slots) score through Transform: the
/// block scorer reads fewer rows ahead when a row is wide, instead of allocating 64 dense rows of every feature.
/// </summary>
[TestClass]
public sealed class WideModelScoringTests
{
    [TestMethod]
    public void ScoringBuffersOfAWideModelDoNotScaleWithItsInputWidth()
    {
        // The features themselves are the caller's; a layer's scratch needs only the layers' widths.
        long before = GC.GetAllocatedBytesForCurrentThread();
        var buffers = new LayerBuffers(new NetworkLayout([1 << 25, 1]), NeuralNetworkActivation.ReLU, BlockScoredCursor.MaxBlockRows);
        Assert.IsLessThan(1 << 20, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.AreEqual(BlockScoredCursor.MaxBlockRows, buffers.Capacity);
        Assert.AreEqual(1, BlockScoredCursor.BlockRows(new NetworkLayout([1 << 25, 1])), "a 2^25-wide row is scored on its own");
        Assert.AreEqual(BlockScoredCursor.MaxBlockRows, BlockScoredCursor.BlockRows(new NetworkLayout([784, 256, 128, 10])));
    }

    [TestMethod]
    [DataRow(1 << 25, 2)]   // one row at a time: 64 dense rows would not fit in one array
    [DataRow(1 << 16, 70)]  // several blocks of a few rows
    public void ALinearModelOverSparseHashedFeaturesScoresEveryRow(int features, int rows)
    {
        var ml = new MLContext(1);
        var parameters = new float[features + 1];
        for (int i = 0; i < features; i += 257)
            parameters[i] = i * 7919L % 1000 / 1000f - 0.5f;
        parameters[features] = 0.5f; // bias
        var model = new NeuralNetworkModelParameters(NeuralNetworkTask.BinaryClassification, new NetworkLayout([features, 1]),
            NeuralNetworkActivation.ReLU, parameters, classValues: null, labelMean: 0, labelStandardDeviation: 1, history: []);
        var featureType = new VectorDataViewType(NumberDataViewType.Single, features);
        var transformer = new NeuralNetworkPredictionTransformer(ml, model, "Features", featureType);
        var data = new SparseRowsDataView(rows, featureType);

        var scored = transformer.Transform(data);
        using var cursor = scored.GetRowCursor(scored.Schema);
        var score = cursor.GetGetter<float>(scored.Schema["Score"]);
        var id = cursor.GetGetter<int>(scored.Schema["Id"]);
        float rowScore = 0;
        int rowId = 0, row = 0;
        while (cursor.MoveNext())
        {
            score(ref rowScore);
            id(ref rowId);
            Assert.AreEqual(row, rowId);
            Assert.AreEqual(SparseRowsDataView.Expected(row, parameters), rowScore, 1e-5, $"row {row}");
            row++;
        }
        Assert.AreEqual(rows, row);
        Assert.IsGreaterThan(rows * 2 / 3, Enumerable.Range(0, rows).Select(r => SparseRowsDataView.Expected(r, parameters)).Distinct().Count(),
            "the rows score differently, so a row served another's score would be seen");
    }

    /// <summary>Rows with a handful of non-zero features each, at indices spread over the whole vector.</summary>
    private sealed class SparseRowsDataView : IDataView
    {
        private readonly int _rows;
        private readonly int _features;

        public SparseRowsDataView(int rows, VectorDataViewType featureType)
        {
            _rows = rows;
            _features = featureType.Size;
            var builder = new DataViewSchema.Builder();
            builder.AddColumn("Id", NumberDataViewType.Int32);
            builder.AddColumn("Features", featureType);
            Schema = builder.ToSchema();
        }

        public DataViewSchema Schema { get; }

        public bool CanShuffle => false;

        public long? GetRowCount() => _rows;

        private static (int[] Indices, float[] Values) Row(int row, int features)
        {
            // Multiples of 257, where the test model has its non-zero weights.
            int slots = features / 257;
            var indices = Enumerable.Range(0, 5).Select(j => (row * 131 + j * 1031) % slots * 257).Distinct().Order().ToArray();
            return (indices, indices.Select((_, j) => 1f + j + row % 3).ToArray());
        }

        /// <summary>The linear score w·x + b, summed in double.</summary>
        public static double Expected(int row, float[] parameters)
        {
            int features = parameters.Length - 1;
            var (indices, values) = Row(row, features);
            double sum = parameters[features];
            for (int j = 0; j < indices.Length; j++)
                sum += (double)parameters[indices[j]] * values[j];
            return sum;
        }

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

        private sealed class Cursor(SparseRowsDataView view) : DataViewRowCursor
        {
            private long _position = -1;

            public override DataViewSchema Schema => view.Schema;
            public override long Position => _position;
            public override long Batch => 0;

            public override bool MoveNext() => ++_position < view._rows;

            public override bool IsColumnActive(DataViewSchema.Column column) => true;

            public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                Delegate getter = column.Index == 0
                    ? (ValueGetter<int>)((ref int v) => v = (int)_position)
                    : (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
                    {
                        var (indices, values) = Row((int)_position, view._features);
                        v = new VBuffer<float>(view._features, indices.Length, values, indices);
                    });
                return (ValueGetter<TValue>)getter;
            }
        }
    }
}
