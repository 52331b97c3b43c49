using System.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Persistence;
using Npgsql;

namespace MlNetMiniBatch.Tests.Data;

/// <summary>What training does when the database fails or holds what the loader does not expect.</summary>
[TestClass]
public sealed class PostgresFaultTests
{
    private static ITransformer LabelToKey(MLContext ml, IDataView data) => ml.Transforms.Conversion.MapValueToKey("Label").Fit(data);

    private static NeuralNetworkModelParameters Train(MLContext ml, IDataView data, NeuralNetworkOptions options) =>
        ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data).Model;

    [TestMethod]
    public void DatabaseGoingAwayMidEpochNamesTheSourceAndEpochAndTheCheckpointStillResumes()
    {
        using var table = PostgresTable.Create(rows: 20_000, seed: 2);
        var ml = new MLContext(seed: 1);
        string application = "mlnmb-fault-" + Guid.NewGuid().ToString("N")[..8];
        var connection = new NpgsqlConnectionStringBuilder(table.ConnectionString) { ApplicationName = application }.ConnectionString;
        // The unread padding makes each epoch's result (40 MB) larger than the socket buffers, so the kill lands while
        // rows are still on their way rather than after the server has sent them all.
        var query = $"SELECT {PostgresTable.Columns}, repeat('x', 2000) AS padding FROM {table.Name}";
        var healthy = table.Load(ml, query, connection);
        var toKey = LabelToKey(ml, healthy);
        var hooked = new RowHookDataView(healthy);
        string directory = Directory.CreateTempSubdirectory("mlnmb-pgfault-").FullName;
        // Shuffle = false: every epoch reads the table itself (a streaming shuffle would read it only once, up front).
        NeuralNetworkOptions Options(string? checkpoints, bool resume = false) => new()
        {
            HiddenLayers = [16], BatchSize = 64, Epochs = 3, Seed = 1, NumberOfThreads = 2, Shuffle = false,
            CheckpointDirectory = checkpoints, ResumeFromCheckpoint = resume,
        };
        var failing = Options(directory);
        failing.OnEpochEnd = e =>
        {
            if (e.Summary.Epoch == 1)
                hooked.Arm(rows: 1_000, () => TerminateBackends(table, application));
        };

        var error = Assert.Throws<InvalidOperationException>(() => Train(ml, toKey.Transform(hooked), failing));

        StringAssert.Contains(error.Message, "epoch 2");
        StringAssert.Contains(error.Message, "reading the training data failed");
        StringAssert.Contains(error.Message, "ResumeFromCheckpoint");
        Assert.IsInstanceOfType<NpgsqlException>(error.InnerException, error.ToString());
        Assert.IsTrue(Checkpoint.Exists(directory), "the checkpoint of the last completed epoch is kept");

        var resuming = Options(directory, resume: true);
        var epochsRun = new List<int>();
        resuming.OnEpochEnd = e => epochsRun.Add(e.Summary.Epoch);
        var resumed = Train(ml, toKey.Transform(healthy), resuming);
        CollectionAssert.AreEqual(new[] { 2, 3 }, epochsRun, "the resumed run continues after the last completed epoch");
        Directory.Delete(directory, recursive: true);
        var uninterrupted = Train(ml, toKey.Transform(healthy), Options(checkpoints: null));
        CollectionAssert.AreEqual(uninterrupted.Parameters.ToArray(), resumed.Parameters.ToArray(), "resumed = uninterrupted, bit for bit");
        Assert.HasCount(3, resumed.History);
        Assert.IsTrue(resumed.History.All(e => e.Rows == 20_000));
    }

    [TestMethod]
    public void DatabaseGoingAwayDuringTheStreamingShufflesCopySaysSoAndLeavesNoFiles()
    {
        using var table = PostgresTable.Create(rows: 20_000, seed: 3);
        var ml = new MLContext(seed: 1);
        string application = "mlnmb-fault-" + Guid.NewGuid().ToString("N")[..8];
        var connection = new NpgsqlConnectionStringBuilder(table.ConnectionString) { ApplicationName = application }.ConnectionString;
        var healthy = table.Load(ml, $"SELECT {PostgresTable.Columns}, repeat('x', 2000) AS padding FROM {table.Name}", connection);
        var toKey = LabelToKey(ml, healthy);
        var hooked = new RowHookDataView(healthy);
        string shuffleDirectory = Directory.CreateTempSubdirectory("mlnmb-pgdeal-").FullName;
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [16], BatchSize = 64, Epochs = 2, Seed = 1, NumberOfThreads = 2, ShuffleTemporaryDirectory = shuffleDirectory,
        };
        // The label-to-key mapping above has read the table already; the next pass over it is the shuffle's copy.
        hooked.Arm(rows: 1_000, () => TerminateBackends(table, application));

        var error = Assert.Throws<InvalidOperationException>(() => Train(ml, toKey.Transform(hooked), options));

        StringAssert.Contains(error.Message, "before epoch 1, while the streaming shuffle copied the rows");
        StringAssert.Contains(error.Message, "reading the training data failed");
        Assert.IsInstanceOfType<NpgsqlException>(error.InnerException, error.ToString());
        Assert.IsEmpty(Directory.GetFileSystemEntries(shuffleDirectory), "the partial copy is deleted");
    }

    private static void TerminateBackends(PostgresTable table, string application)
    {
        using var connection = table.Open();
        using var command = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = @name", connection);
        command.Parameters.AddWithValue("name", application);
        Assert.AreEqual(1L, command.ExecuteScalar(), "one training connection was open");
    }

    /// <summary>ML.NET's DatabaseLoader reads NULL in a real (or double precision) column as NaN, so it counts like any
    /// NaN feature: an error that counts the rows by default, skipped and counted with SkipInvalidRows.</summary>
    [TestMethod]
    public void NullFeaturesCountLikeNaN()
    {
        var nulls = new HashSet<int> { 3, 500, 501, 1999 };
        using var table = PostgresTable.Create(rows: 2_000, seed: 3, nulls);
        var ml = new MLContext(seed: 1);
        var data = table.Load(ml);
        var keyed = LabelToKey(ml, data).Transform(data);
        var options = PostgresTrainingTests.Options(epochs: 1);

        var error = Assert.Throws<InvalidOperationException>(() => Train(ml, keyed, options));
        StringAssert.Contains(error.Message, "has 4 of 2000 rows that cannot be trained on (4 with NaN or infinite values in feature column 'Features')");
        StringAssert.Contains(error.Message, "the first is row 3");

        options.SkipInvalidRows = true;
        Assert.AreEqual(1_996, Train(ml, keyed, options).History[0].Rows);
    }

    /// <summary>NULL in an integer column is read as 0, which MapValueToKey would take as a class. A key column
    /// (DbType.UInt32 with a KeyCount, classes 1..K) keeps 0 as "missing", so such rows count as missing labels.</summary>
    [TestMethod]
    public void NullLabelInAKeyColumnCountsAsMissing()
    {
        using var table = PostgresTable.Create(rows: 1_000, seed: 4);
        table.Execute($"UPDATE {table.Name} SET label = NULL WHERE ctid IN (SELECT ctid FROM {table.Name} LIMIT 7)");
        var ml = new MLContext(seed: 1);
        var loader = ml.Data.CreateDatabaseLoader(
            new DatabaseLoader.Column("Label", DbType.UInt32, [new DatabaseLoader.Range(0)], new KeyCount(4)),
            new DatabaseLoader.Column("Features", DbType.Single, 1, PostgresTable.FeatureCount));
        var data = loader.Load(new DatabaseSource(NpgsqlFactory.Instance, table.ConnectionString,
            $"SELECT label + 1, {PostgresTable.FeatureColumns} FROM {table.Name}"));

        var error = Assert.Throws<InvalidOperationException>(() => Train(ml, data, PostgresTrainingTests.Options(epochs: 1)));
        StringAssert.Contains(error.Message, "has 7 of 1000 rows that cannot be trained on (7 with a missing or out-of-range label in column 'Label')");

        var integerLabel = table.Load(ml);
        using var cursor = integerLabel.GetRowCursor(integerLabel.Schema);
        var label = cursor.GetGetter<int>(integerLabel.Schema["Label"]);
        int zeros = 0, value = 0;
        while (cursor.MoveNext())
        {
            label(ref value);
            zeros += value == 0 ? 1 : 0;
        }
        using var connection = table.Open();
        using var count = new NpgsqlCommand($"SELECT count(*) FROM {table.Name} WHERE label = 0 OR label IS NULL", connection);
        Assert.AreEqual((long)count.ExecuteScalar()!, zeros, "an Int32 column reads NULL as 0");
    }

    [TestMethod]
    public void AColumnOfTheWrongTypeNamesTheColumnAndTheCast()
    {
        using var table = PostgresTable.Create(rows: 500, seed: 5);
        var ml = new MLContext(seed: 1);
        var data = table.Load(ml, $"SELECT label, x0, x1, x2, x3, x4, x5, x6, x7::text FROM {table.Name}");
        var keyed = LabelToKey(ml, data).Transform(data);

        var error = Assert.Throws<InvalidOperationException>(() => Train(ml, keyed, PostgresTrainingTests.Options(epochs: 1)));

        StringAssert.Contains(error.Message, "epoch 1");
        StringAssert.Contains(error.Message, "the training data's column 'Features' (Vector<Single, 8>) cannot be read");
        StringAssert.Contains(error.Message, "'text'"); // Npgsql's own words name the type it found
        StringAssert.Contains(error.Message, "CAST(x AS real)");
        Assert.IsInstanceOfType<InvalidCastException>(error.InnerException);
    }

    /// <summary>Npgsql converts double precision to Single when the loader asks for real, so such a column trains as
    /// is; a value beyond Single's range becomes infinity and is reported like any non-finite feature.</summary>
    [TestMethod]
    public void DoublePrecisionIsNarrowedToSingleAndAnOutOfRangeValueCountsAsInfinite()
    {
        using var table = PostgresTable.Create(rows: 500, seed: 6);
        table.Execute($"ALTER TABLE {table.Name} ALTER COLUMN x0 TYPE double precision");
        var ml = new MLContext(seed: 1);
        var data = table.Load(ml);
        var keyed = LabelToKey(ml, data).Transform(data);
        Assert.AreEqual(500, Train(ml, keyed, PostgresTrainingTests.Options(epochs: 1)).History[0].Rows);

        table.Execute($"UPDATE {table.Name} SET x0 = 1e300 WHERE ctid IN (SELECT ctid FROM {table.Name} LIMIT 1)");
        var error = Assert.Throws<InvalidOperationException>(() => Train(ml, keyed, PostgresTrainingTests.Options(epochs: 1)));
        StringAssert.Contains(error.Message, "has 1 of 500 rows that cannot be trained on (1 with NaN or infinite values");
    }
}
