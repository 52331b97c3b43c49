using System.Data;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Npgsql;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// Child mode of section "postgres" that reads a table without training, to split the streaming run's peak memory by
/// layer: "npgsql" is a plain NpgsqlDataReader loop (GetInt32 and 784 GetFloat a row, what the DatabaseLoader calls),
/// "loader" is a cursor of ML.NET's DatabaseLoader with the trainer's two columns and getters. Neither keeps a row.
/// </summary>
internal static class PostgresReadCost
{
    public const string ChildFlag = "--postgres-read-child";
    public static readonly string[] Modes = ["npgsql", "loader"];

    public static int ChildMain(string[] args)
    {
        var (connectionString, table, mode) = (args[1], args[2], args[3]);
        using var sampler = new MemorySampler(TimeSpan.FromMilliseconds(10));
        using var allocations = new AllocationSampler();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long rows = mode switch
        {
            "npgsql" => ReadWithNpgsql(connectionString, table),
            "loader" => ReadWithLoader(connectionString, table),
            _ => throw new ArgumentException($"Unknown read mode '{mode}' (npgsql or loader)."),
        };
        double seconds = clock.Elapsed.TotalSeconds;
        var record = sampler.Report();
        record["rows"] = rows;
        record["seconds"] = seconds;
        record["rows_per_s"] = rows / seconds;
        record["peak_rss_bytes"] = Machine.ResidentSet().Peak;
        record["top_allocations"] = allocations.Top(4);
        Console.WriteLine("CHILD " + JsonSerializer.Serialize(record));
        return 0;
    }

    private static long ReadWithNpgsql(string connectionString, string table)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand($"SELECT {PostgresStreamBench.Columns} FROM {table}", connection);
        using var reader = command.ExecuteReader();
        long rows = 0;
        double sum = 0; // consumed, so that the reads cannot be dropped
        while (reader.Read())
        {
            sum += reader.GetInt32(0);
            for (int c = 1; c <= BinaryRecordDataView.Pixels; c++)
                sum += reader.IsDBNull(c) ? 0 : reader.GetFloat(c);
            rows++;
        }
        GC.KeepAlive(sum);
        return rows;
    }

    private static long ReadWithLoader(string connectionString, string table)
    {
        var ml = new MLContext(seed: 1);
        IDataView data = PostgresStreamBench.Loader(ml, connectionString, table);
        using var cursor = data.GetRowCursor(data.Schema);
        var label = cursor.GetGetter<uint>(data.Schema["Label"]);
        var features = cursor.GetGetter<VBuffer<float>>(data.Schema["Features"]);
        uint key = 0;
        VBuffer<float> values = default;
        long rows = 0;
        while (cursor.MoveNext())
        {
            label(ref key);
            features(ref values);
            rows++;
        }
        return rows;
    }

    /// <summary>Runs both read modes over <paramref name="table"/>, each in a child process.</summary>
    public static IEnumerable<(string Mode, JsonElement Child)> Run(string connectionString, string table)
    {
        foreach (string mode in Modes)
            if (StreamBench.RunChild($"{table} ({mode})", ChildFlag, connectionString, table, mode) is { } child)
                yield return (mode, child);
    }

}
