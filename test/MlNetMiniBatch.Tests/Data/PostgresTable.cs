using Microsoft.ML;
using Microsoft.ML.Data;
using Npgsql;
using NpgsqlTypes;

namespace MlNetMiniBatch.Tests.Data;

/// <summary>
/// A table of <see cref="QuadrantRow"/>s in the test server (label integer, x0..x7 real), filled with binary COPY
/// and dropped on dispose. The rows are independent draws, so the table's storage order says nothing about the label.
/// </summary>
internal sealed class PostgresTable : IDisposable
{
    public const int FeatureCount = 8;

    /// <summary>The select list in the order <see cref="QuadrantRow"/>'s LoadColumn indices expect.</summary>
    public static readonly string Columns = "label, " + FeatureColumns;

    public static string FeatureColumns => string.Join(", ", Enumerable.Range(0, FeatureCount).Select(i => $"x{i}"));

    private PostgresTable(string connectionString, string name)
    {
        ConnectionString = connectionString;
        Name = name;
    }

    public string ConnectionString { get; }

    public string Name { get; }

    /// <summary>Creates and fills the table; <paramref name="nullFeatureRows"/> get a NULL in x3.</summary>
    public static PostgresTable Create(int rows, int seed, IReadOnlySet<int>? nullFeatureRows = null)
    {
        var table = new PostgresTable(PostgresServer.ConnectionString(), "mlnmb_" + Guid.NewGuid().ToString("N"));
        table.Execute($"CREATE TABLE {table.Name} (label integer, " +
            string.Join(", ", Enumerable.Range(0, FeatureCount).Select(i => $"x{i} real")) + ")");
        using var connection = table.Open();
        using (var writer = connection.BeginBinaryImport($"COPY {table.Name} ({Columns}) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var (row, index) in QuadrantRow.Generate(rows, seed).Select((r, i) => (r, i)))
            {
                writer.StartRow();
                writer.Write(row.Label, NpgsqlDbType.Integer);
                for (int j = 0; j < FeatureCount; j++)
                {
                    if (j == 3 && nullFeatureRows?.Contains(index) == true)
                        writer.WriteNull();
                    else
                        writer.Write(row.Features[j], NpgsqlDbType.Real);
                }
            }
            writer.Complete();
        }
        return table;
    }

    public NpgsqlConnection Open()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        connection.Open();
        return connection;
    }

    public void Execute(string sql)
    {
        using var connection = Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    public long Count()
    {
        using var connection = Open();
        using var command = new NpgsqlCommand($"SELECT count(*) FROM {Name}", connection);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>The table through ML.NET's DatabaseLoader: Label (Int32) and Features (8 Singles), read by
    /// <paramref name="query"/> (default: every row, in storage order).</summary>
    public IDataView Load(MLContext ml, string? query = null, string? connectionString = null) =>
        ml.Data.CreateDatabaseLoader<QuadrantRow>().Load(
            new DatabaseSource(NpgsqlFactory.Instance, connectionString ?? ConnectionString, query ?? $"SELECT {Columns} FROM {Name}"));

    public void Dispose() => Execute($"DROP TABLE IF EXISTS {Name}");
}

/// <summary>
/// A four-class task with structure a linear model cannot learn: class = 2·[x0·x1 &gt; 0] + [x2 + x3² &gt; 1], from eight
/// standard-normal features (x4..x7 are noise). The label is a function of the features, so a good network nears 1.
/// </summary>
public sealed class QuadrantRow
{
    [LoadColumn(0)]
    public int Label { get; set; }

    [LoadColumn(1, PostgresTable.FeatureCount), VectorType(PostgresTable.FeatureCount)]
    public float[] Features { get; set; } = [];

    public static IEnumerable<QuadrantRow> Generate(int rows, int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < rows; i++)
        {
            var x = new float[PostgresTable.FeatureCount];
            for (int j = 0; j < x.Length; j++)
                x[j] = Synthetic.Gaussian(random);
            int label = 2 * (x[0] * x[1] > 0 ? 1 : 0) + (x[2] + x[3] * x[3] > 1 ? 1 : 0);
            yield return new QuadrantRow { Label = label, Features = x };
        }
    }
}
