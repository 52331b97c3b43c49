using System.Globalization;
using MlNetMiniBatch;

/// <summary>Parsing of the command line's values and the usage text.</summary>
internal static class Arguments
{
    public static double PositiveNumber(string option, string? value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && x > 0 && double.IsFinite(x)
            ? x
            : throw new ArgumentException($"{option} needs a positive number, got '{value}'.");

    public static long PositiveInteger(string option, string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : throw new ArgumentException($"{option} needs a positive integer, got '{value}'.");

    /// <summary>"1,8,32,full" → { 1, 8, 32, <see cref="BatchSizeSweep.FullBatch"/> }.</summary>
    public static int[] BatchSizes(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw new ArgumentException("--batch-sizes needs a comma-separated list, e.g. 1,8,32,128,512,full.");
        int[] sizes = value.Split(',', StringSplitOptions.TrimEntries)
            .Select(s => s.Equals("full", StringComparison.OrdinalIgnoreCase) ? BatchSizeSweep.FullBatch : (int)PositiveInteger("--batch-sizes", s))
            .ToArray();
        return sizes.Distinct().Count() == sizes.Length ? sizes : throw new ArgumentException($"--batch-sizes lists a batch size twice: '{value}'.");
    }

    /// <summary>"1,2,3" → { 1, 2, 3 }: the seeds to train the whole sweep with, one after the other.</summary>
    public static int[] Seeds(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw new ArgumentException("--seeds needs a comma-separated list of positive integers, e.g. 1,2,3.");
        int[] seeds = value.Split(',', StringSplitOptions.TrimEntries).Select(s => (int)PositiveInteger("--seeds", s)).ToArray();
        return seeds.Distinct().Count() == seeds.Length ? seeds : throw new ArgumentException($"--seeds lists a seed twice: '{value}'.");
    }

    /// <summary>A requested batch size as the command line writes it: "32" or "full".</summary>
    public static string Name(int batchSize) =>
        batchSize == BatchSizeSweep.FullBatch ? "full" : batchSize.ToString(CultureInfo.InvariantCulture);

    public static void PrintUsage() =>
        Console.Error.WriteLine("Usage: dotnet run -c Release --project examples/BatchSizeSweep [-- --data DIR] " +
                                "[--budget-seconds S (default 20) | --epochs N] [--batch-sizes 1,8,32,128,512,full] " +
                                "[--out DIR (default batch-size-sweep)] [--target-loss L] [--seed N | --seeds 1,2,3] [--no-adaptive] [--start-batch B (default: measured)] " +
                                "[--max-batch B (default 1024)] [--lr-scaling None|Linear|SquareRoot|AdaScale]");
}
