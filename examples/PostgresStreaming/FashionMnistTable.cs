// Writes Fashion-MNIST into a PostgreSQL table with binary COPY: one integer label column (the key, 1..10) and one
// real column per pixel (p0..p783), which is how ML.NET's DatabaseLoader reads a vector: a range of result columns.
using Microsoft.ML;
using Microsoft.ML.Data;
using Npgsql;
using NpgsqlTypes;

namespace MlNetMiniBatch.Examples;

internal static class FashionMnistTable
{
    /// <summary>The select list: label first, then the pixels in order (the loader's column indices rely on it).</summary>
    public static readonly string Columns =
        "label, " + string.Join(", ", Enumerable.Range(0, FashionMnistData.PixelCount).Select(i => $"p{i}"));

    /// <summary>(Re)creates <paramref name="table"/> and copies every row of <paramref name="data"/> into it
    /// <paramref name="copies"/> times; with <paramref name="sortedByLabel"/> the rows are stored ordered by class,
    /// the layout that trains badly without a shuffle. Returns the number of rows written.</summary>
    public static long Write(NpgsqlConnection connection, string table, IDataView data, int copies, bool sortedByLabel)
    {
        Execute(connection, $"DROP TABLE IF EXISTS {table}");
        Execute(connection, $"CREATE TABLE {table} (label integer NOT NULL, " +
            string.Join(", ", Enumerable.Range(0, FashionMnistData.PixelCount).Select(i => $"p{i} real NOT NULL")) + ")");
        long rows = 0;
        using (var writer = connection.BeginBinaryImport($"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)"))
        {
            // Sorted: one pass per class, so nothing but the current row is held in memory.
            foreach (uint? onlyClass in sortedByLabel ? Enumerable.Range(1, 10).Select(k => (uint?)k) : [null])
                for (int copy = 0; copy < copies; copy++)
                    rows += CopyRows(writer, data, onlyClass);
            writer.Complete();
        }
        return rows;
    }

    private static long CopyRows(NpgsqlBinaryImporter writer, IDataView data, uint? onlyClass)
    {
        using var cursor = data.GetRowCursor(data.Schema);
        var getLabel = cursor.GetGetter<uint>(data.Schema["Label"]);
        var getFeatures = cursor.GetGetter<VBuffer<float>>(data.Schema["Features"]);
        uint label = 0;
        VBuffer<float> pixels = default;
        long rows = 0;
        while (cursor.MoveNext())
        {
            getLabel(ref label);
            if (onlyClass is { } k && label != k)
                continue;
            getFeatures(ref pixels);
            writer.StartRow();
            writer.Write((int)label, NpgsqlDbType.Integer);
            foreach (float pixel in pixels.DenseValues())
                writer.Write(pixel, NpgsqlDbType.Real);
            rows++;
        }
        return rows;
    }

    private static void Execute(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
