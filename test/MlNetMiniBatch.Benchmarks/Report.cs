using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>Output: a human-readable table per section and one <c>BENCH {json}</c> line per case.</summary>
internal static class Report
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Heading(string title)
    {
        Console.WriteLine();
        Console.WriteLine($"== {title} ==");
    }

    public static void Note(string text) => Console.WriteLine($"  {text}");

    /// <summary>Prints <c>BENCH {"section":..,"case":..,...}</c>; doubles are rounded to 4 significant digits, null fields dropped.</summary>
    public static void Bench(string section, string caseName, params (string Key, object? Value)[] fields)
    {
        var record = new Dictionary<string, object?> { ["section"] = section, ["case"] = caseName };
        foreach (var (key, value) in fields)
        {
            if (value is null) continue;
            record[key] = value switch
            {
                double d => Round(d),
                float f => Round(f),
                _ => value,
            };
        }
        Console.WriteLine("BENCH " + JsonSerializer.Serialize(record, JsonOptions));
    }

    private static double Round(double value) =>
        double.IsFinite(value) && value != 0
            ? Math.Round(value, Math.Max(0, 3 - (int)Math.Floor(Math.Log10(Math.Abs(value)))))
            : value;

    public static string F(double value, int decimals = 1) =>
        double.IsFinite(value) ? value.ToString("F" + decimals, CultureInfo.InvariantCulture) : "-";

    public static string F(double? value, int decimals = 1) => value is { } v ? F(v, decimals) : "-";

    public static string Thousands(double value) =>
        double.IsFinite(value) ? value.ToString("N0", CultureInfo.InvariantCulture) : "-";

    public static string Thousands(double? value) => value is { } v ? Thousands(v) : "-";

    public static string Ratio(double? ours, double? reference) =>
        ours is { } o && reference is { } r && r > 0 && double.IsFinite(o) ? (o / r).ToString("F2", CultureInfo.InvariantCulture) + "x" : "-";
}

/// <summary>A fixed-width text table: right-aligned columns except the first.</summary>
internal sealed class Table
{
    private readonly string[] _headers;
    private readonly List<string[]> _rows = new();

    public Table(params string[] headers) => _headers = headers;

    public void Add(params string[] cells)
    {
        if (cells.Length != _headers.Length) throw new ArgumentException("Cell count differs from the header count.");
        _rows.Add(cells);
    }

    public void Print()
    {
        int[] widths = _headers.Select((h, c) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[c].Length))).ToArray();
        var sb = new StringBuilder();
        void Line(string[] cells)
        {
            sb.Append("  ");
            for (int c = 0; c < cells.Length; c++)
            {
                if (c > 0) sb.Append("  ");
                sb.Append(c == 0 ? cells[c].PadRight(widths[c]) : cells[c].PadLeft(widths[c]));
            }
            sb.AppendLine();
        }
        Line(_headers);
        sb.Append("  ").AppendLine(new string('-', widths.Sum() + 2 * (widths.Length - 1)));
        foreach (string[] row in _rows) Line(row);
        Console.Write(sb.ToString());
    }
}

internal static class Stats
{
    /// <summary>Sample variance (n − 1 in the denominator).</summary>
    public static double Variance(IReadOnlyList<double> values)
    {
        double mean = values.Average();
        return values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
    }

    /// <summary>Standard error of mean(a) − mean(b), from each sample's spread.</summary>
    public static double DifferenceStandardError(IReadOnlyList<double> a, IReadOnlyList<double> b) =>
        Math.Sqrt((Variance(a) / a.Count) + (Variance(b) / b.Count));

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        double[] sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
    }
}

/// <summary>The targets of the issues (3, 6, 15), collected from the sections and printed together at the end.</summary>
internal static class Targets
{
    private static readonly List<(string What, string Measured, string Target, bool? Met)> Items = new();

    public static void Add(string what, string measured, string target, bool? met) => Items.Add((what, measured, target, met));

    public static void Print()
    {
        if (Items.Count == 0) return;
        Report.Heading("Targets (issues 3, 6 and 15), measured in this run");
        var table = new Table("target", "measured", "wanted", "status");
        foreach (var (what, measured, target, met) in Items)
            table.Add(what, measured, target, met switch { true => "met", false => "NOT MET", null => "n/a" });
        table.Print();
    }
}
