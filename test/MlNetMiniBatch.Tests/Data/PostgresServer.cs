using Npgsql;

namespace MlNetMiniBatch.Tests.Data;

/// <summary>
/// The PostgreSQL server the database tests use, named by the MLNMB_POSTGRES connection string that
/// tools/postgres.sh exports. Without a reachable server a test is inconclusive, with the command that starts one;
/// in CI (CI=true), where .ci/run starts the server, it fails instead, so that the tests can never silently not run.
/// </summary>
internal static class PostgresServer
{
    public const string Variable = "MLNMB_POSTGRES";

    private static readonly Lazy<(string? ConnectionString, string? Problem)> Server = new(Probe);

    /// <summary>The connection string, or the test stops here (inconclusive, or failed in CI).</summary>
    public static string ConnectionString()
    {
        var (connectionString, problem) = Server.Value;
        if (connectionString is not null)
            return connectionString;
        string message = $"No PostgreSQL server for this test: {problem}. From the repository root, start a throwaway one with " +
            $"  eval \"$(tools/postgres.sh start)\"  (it exports {Variable}), run the tests from that shell, and stop it with " +
            "  tools/postgres.sh stop \"$MLNMB_POSTGRES_DIR\"";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail(message + ". In CI these tests must run: .ci/run starts the server.");
        Assert.Inconclusive(message);
        throw new InvalidOperationException("unreachable");
    }

    private static (string?, string?) Probe()
    {
        string? connectionString = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(connectionString))
            return (null, $"{Variable} is not set");
        try
        {
            using var connection = new NpgsqlConnection(connectionString);
            connection.Open();
            return (connectionString, null);
        }
        catch (Exception e) when (e is NpgsqlException or ArgumentException)
        {
            return (null, $"cannot connect with {Variable}='{connectionString}' ({e.Message})");
        }
    }
}
