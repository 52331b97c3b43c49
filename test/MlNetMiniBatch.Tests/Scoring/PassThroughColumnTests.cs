using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Scoring;

/// <summary>
/// Transform reads rows ahead to score them in blocks, so every passed-through column must keep each row's own value
/// even when the source reuses its buffers as soon as its cursor moves (ML.NET allows that: a getter's value is only
/// valid until the next MoveNext). Checked over several blocks (64 rows each).
/// </summary>
[TestClass]
public sealed class PassThroughColumnTests
{
    private const int Rows = 200;

    private sealed class TextRow
    {
        public string Text { get; set; } = "";
        public float Label { get; set; }
        [VectorType(2)] public float[] Features { get; set; } = [];
    }

    private sealed class TextOut
    {
        public string Text { get; set; } = "";
        public float Score { get; set; }
    }

    private static string TextOf(int row) => $"row {row}: \"{new string((char)('a' + row % 26), 1 + row % 13)}\"";

    private static NeuralNetworkPredictionTransformer FitRegression(MLContext ml, IDataView data)
        => ml.Regression.Trainers.NeuralNetwork(new NeuralNetworkOptions { HiddenLayers = [4], Epochs = 1, Seed = 1 }).Fit(data);

    [TestMethod]
    public void TextFromLoadFromEnumerableKeepsEachRowsValue()
    {
        var ml = new MLContext(1);
        var rows = Enumerable.Range(0, Rows).Select(i => new TextRow { Text = TextOf(i), Label = i % 5, Features = [i % 7, i % 3] }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var scored = ml.Data.CreateEnumerable<TextOut>(FitRegression(ml, data).Transform(data), reuseRowObject: false).ToArray();
        CollectionAssert.AreEqual(rows.Select(r => r.Text).ToArray(), scored.Select(s => s.Text).ToArray());
    }

    [TestMethod]
    public void TextFromLoadFromTextFileKeepsEachRowsValue()
    {
        var ml = new MLContext(1);
        string path = Path.Combine(Path.GetTempPath(), $"pass-through-{Guid.NewGuid():N}.tsv");
        try
        {
            // Quoted fields with doubled quotes make the loader unescape the text rather than slice the line.
            File.WriteAllLines(path, Enumerable.Range(0, Rows).Select(i => $"\"{TextOf(i).Replace("\"", "\"\"")}\"\t{i % 5}\t{i % 7}\t{i % 3}"));
            var data = ml.Data.LoadFromTextFile(path, [
                new TextLoader.Column("Text", DataKind.String, 0),
                new TextLoader.Column("Label", DataKind.Single, 1),
                new TextLoader.Column("Features", DataKind.Single, 2, 3),
            ], allowQuoting: true);
            var scored = ml.Data.CreateEnumerable<TextOut>(FitRegression(ml, data).Transform(data), reuseRowObject: false).ToArray();
            CollectionAssert.AreEqual(Enumerable.Range(0, Rows).Select(TextOf).ToArray(), scored.Select(s => s.Text).ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void TextAndTextVectorsFromAReusedBufferKeepEachRowsValue()
    {
        var ml = new MLContext(1);
        var data = new ReusedBufferDataView(Rows);
        var scored = FitRegression(ml, data).Transform(data);
        using var cursor = scored.GetRowCursor(scored.Schema);
        var text = cursor.GetGetter<ReadOnlyMemory<char>>(scored.Schema["Text"]);
        var tokens = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(scored.Schema["Tokens"]);
        var score = cursor.GetGetter<float>(scored.Schema["Score"]);
        ReadOnlyMemory<char> rowText = default;
        VBuffer<ReadOnlyMemory<char>> rowTokens = default;
        float rowScore = 0;
        int row = 0;
        while (cursor.MoveNext())
        {
            text(ref rowText);
            tokens(ref rowTokens);
            score(ref rowScore);
            Assert.AreEqual(TextOf(row), rowText.ToString(), $"row {row}");
            CollectionAssert.AreEqual(ReusedBufferDataView.TokensOf(row), rowTokens.DenseValues().Select(t => t.ToString()).ToArray(), $"row {row}");
            row++;
        }
        Assert.AreEqual(Rows, row);
    }

    [TestMethod]
    public void AColumnThatCannotBeCopiedIsServedRowByRow()
    {
        var ml = new MLContext(1);
        var data = new ReusedBufferDataView(Rows);
        var model = FitRegression(ml, data);
        var scored = model.Transform(data);
        using var engine = ml.Model.CreatePredictionEngine<FeaturesOnly, ScoreOnly>(model);
        using var cursor = scored.GetRowCursor(scored.Schema);
        var builder = cursor.GetGetter<StringBuilder>(scored.Schema["Builder"]);
        var score = cursor.GetGetter<float>(scored.Schema["Score"]);
        StringBuilder rowBuilder = new();
        float rowScore = 0;
        int row = 0;
        while (cursor.MoveNext())
        {
            builder(ref rowBuilder);
            score(ref rowScore);
            Assert.AreEqual(TextOf(row), rowBuilder.ToString(), $"row {row}");
            Assert.AreEqual(engine.Predict(new FeaturesOnly { Features = ReusedBufferDataView.FeaturesOf(row) }).Score, rowScore, 1e-6f, $"row {row}");
            row++;
        }
        Assert.AreEqual(Rows, row);
    }

    private sealed class FeaturesOnly
    {
        [VectorType(2)] public float[] Features { get; set; } = [];
    }

    private sealed class ScoreOnly
    {
        public float Score { get; set; }
    }

    /// <summary>An opaque reference-type column: nothing outside its source knows how to copy it.</summary>
    private sealed class BuilderType() : StructuredDataViewType(typeof(StringBuilder))
    {
        public override bool Equals(DataViewType? other) => other is BuilderType;

        public override int GetHashCode() => typeof(BuilderType).GetHashCode();
    }

    /// <summary>
    /// A source that writes each row's text into one buffer per cursor, overwritten on the next row, as a file reader
    /// that parses into a line buffer may. Columns: Text, Tokens (text vector), Builder (a reused StringBuilder),
    /// Label, Features.
    /// </summary>
    private sealed class ReusedBufferDataView : IDataView
    {
        private readonly int _rows;

        public ReusedBufferDataView(int rows)
        {
            _rows = rows;
            var builder = new DataViewSchema.Builder();
            builder.AddColumn("Text", TextDataViewType.Instance);
            builder.AddColumn("Tokens", new VectorDataViewType(TextDataViewType.Instance));
            builder.AddColumn("Builder", new BuilderType());
            builder.AddColumn("Label", NumberDataViewType.Single);
            builder.AddColumn("Features", new VectorDataViewType(NumberDataViewType.Single, 2));
            Schema = builder.ToSchema();
        }

        public DataViewSchema Schema { get; }

        public bool CanShuffle => false;

        public long? GetRowCount() => _rows;

        public static string[] TokensOf(int row) => TextOf(row).Split(' ');

        public static float[] FeaturesOf(int row) => [row % 7, row % 3];

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

        private sealed class Cursor(ReusedBufferDataView view) : DataViewRowCursor
        {
            private readonly char[] _line = new char[256];
            private readonly StringBuilder _builder = new();
            private int _length;
            private long _position = -1;

            public override DataViewSchema Schema => view.Schema;
            public override long Position => _position;
            public override long Batch => 0;
            private int Row => (int)_position;

            public override bool MoveNext()
            {
                if (++_position >= view._rows)
                    return false;
                string text = TextOf(Row);
                text.CopyTo(_line);
                _length = text.Length;
                _builder.Clear().Append(text);
                return true;
            }

            public override bool IsColumnActive(DataViewSchema.Column column) => true;

            public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)Row, 0);

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                Delegate getter = column.Name switch
                {
                    "Text" => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = _line.AsMemory(0, _length)),
                    "Tokens" => (ValueGetter<VBuffer<ReadOnlyMemory<char>>>)(GetTokens),
                    "Builder" => (ValueGetter<StringBuilder>)((ref StringBuilder v) => v = _builder),
                    "Label" => (ValueGetter<float>)((ref float v) => v = Row % 5),
                    _ => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
                    {
                        var editor = VBufferEditor.Create(ref v, 2);
                        FeaturesOf(Row).CopyTo(editor.Values);
                        v = editor.Commit();
                    }),
                };
                return (ValueGetter<TValue>)getter;
            }

            private void GetTokens(ref VBuffer<ReadOnlyMemory<char>> value)
            {
                var tokens = TokensOf(Row);
                var editor = VBufferEditor.Create(ref value, tokens.Length);
                int start = 0;
                for (int t = 0; t < tokens.Length; t++)
                {
                    editor.Values[t] = _line.AsMemory(start, tokens[t].Length);
                    start += tokens[t].Length + 1;
                }
                value = editor.Commit();
            }
        }
    }
}
