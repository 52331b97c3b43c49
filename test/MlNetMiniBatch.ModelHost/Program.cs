using System.Runtime.CompilerServices;
using Microsoft.ML;
using MlNetMiniBatch.ModelHost;

// Usage: MlNetMiniBatch.ModelHost (<model.zip> <rows.idv> <output.txt>)...
// For each model: loads it with plain mlContext.Model.Load, scores the rows (an ML.NET binary data file with Single
// columns X0..X3) with Transform and with a PredictionEngine, and writes the model's details and every score's bits
// to the output file. Exit code 0 on success; any exception is printed and gives exit code 1.
if (args.Length == 0 || args.Length % 3 != 0)
{
    Console.Error.WriteLine("usage: MlNetMiniBatch.ModelHost (<model.zip> <rows.idv> <output.txt>)...");
    return 2;
}
try
{
    bool preloaded = AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "MlNetMiniBatch");
    for (int i = 0; i < args.Length; i += 3)
    {
        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(args[i], out var inputSchema);
        var rows = ml.Data.LoadFromBinary(args[i + 1]);
        var lines = new List<string> { $"preloaded={preloaded}", $"inputSchema={string.Join(",", inputSchema.Select(c => c.Name))}" };
        Host.Describe(model, lines);
        Host.Score(ml, model, rows, lines);
        File.WriteAllLines(args[i + 2], lines);
    }
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine(e);
    return 1;
}

internal static class Host
{
    // Kept out of the top-level statements so MlNetMiniBatch is not loaded before Model.Load.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Describe(ITransformer model, List<string> lines) => lines.AddRange(ModelReport.Describe(ModelReport.FindNetwork(model)));

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Score(MLContext ml, ITransformer model, IDataView rows, List<string> lines) => lines.AddRange(ModelReport.Scores(ml, model, rows));
}
