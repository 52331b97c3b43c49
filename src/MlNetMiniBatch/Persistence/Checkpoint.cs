namespace MlNetMiniBatch.Persistence;

/// <summary>
/// Everything a run needs to continue exactly where it stopped: the model (weights, history, label scaling, classes),
/// the optimizer's moments and step count, the seed (shuffling and dropout are pure functions of seed, epoch and batch,
/// so no generator state is needed), the schedule's rate and plateau counter, and early stopping's best value, epoch,
/// counter and weights. Written to a temporary file, flushed to disk, then renamed over the previous checkpoint, so a
/// crash at any moment leaves either the old or the new checkpoint, whole.
/// </summary>
internal sealed class Checkpoint
{
    private const uint Magic = 0x4B434E4D; // "MNCK"
    private const int Version = 1;
    public const string FileName = "checkpoint.mlnmb";

    public required string Configuration { get; init; }
    public required int Seed { get; init; }
    public required NeuralNetworkModelParameters Model { get; init; }
    public required long OptimizerSteps { get; init; }
    public required float[][] OptimizerState { get; init; }
    public required float LearningRate { get; init; }
    public required int PlateauWait { get; init; }
    public required double? BestValue { get; init; }
    public required int? BestEpoch { get; init; }
    public required int EpochsWithoutImprovement { get; init; }
    public required float[]? BestParameters { get; init; }

    public int EpochsDone => Model.History.Count == 0 ? 0 : Model.History[^1].Epoch;

    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    public void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        string path = PathIn(directory), temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(Magic);
                writer.Write(Version);
                writer.Write(Configuration);
                writer.Write(Seed);
                ModelFormat.Write(writer, Model);
                writer.Write(OptimizerSteps);
                writer.Write(OptimizerState.Length);
                foreach (var array in OptimizerState) WriteArray(writer, array);
                writer.Write(LearningRate);
                writer.Write(PlateauWait);
                writer.Write(BestValue.HasValue);
                writer.Write(BestValue ?? 0);
                writer.Write(BestEpoch ?? -1);
                writer.Write(EpochsWithoutImprovement);
                writer.Write(BestParameters is not null);
                if (BestParameters is not null) WriteArray(writer, BestParameters);
            }
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The checkpoint in <paramref name="directory"/>, or null when there is none.</summary>
    public static Checkpoint? TryRead(string directory)
    {
        string path = PathIn(directory);
        if (!File.Exists(path))
            return null;
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            if (reader.ReadUInt32() != Magic || reader.ReadInt32() != Version)
                throw new InvalidDataException("not a checkpoint of this MlNetMiniBatch version");
            string configuration = reader.ReadString();
            int seed = reader.ReadInt32();
            var model = ModelFormat.Read(reader);
            long steps = reader.ReadInt64();
            var state = new float[ModelFormat.Count(reader, 0, 16, "optimizer state count")][];
            for (int i = 0; i < state.Length; i++) state[i] = ReadArray(reader);
            float learningRate = reader.ReadSingle();
            int plateauWait = reader.ReadInt32();
            bool hasBest = reader.ReadBoolean();
            double best = reader.ReadDouble();
            int bestEpoch = reader.ReadInt32();
            int wait = reader.ReadInt32();
            var bestParameters = reader.ReadBoolean() ? ReadArray(reader) : null;
            return new Checkpoint
            {
                Configuration = configuration, Seed = seed, Model = model, OptimizerSteps = steps, OptimizerState = state,
                LearningRate = learningRate, PlateauWait = plateauWait, BestValue = hasBest ? best : null,
                BestEpoch = bestEpoch >= 0 ? bestEpoch : null, EpochsWithoutImprovement = wait, BestParameters = bestParameters,
            };
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new InvalidDataException($"The checkpoint {path} cannot be read ({e.Message}). Delete it to start over.", e);
        }
    }

    private static void WriteArray(BinaryWriter writer, float[] array)
    {
        writer.Write(array.Length);
        foreach (float v in array) writer.Write(v);
    }

    private static float[] ReadArray(BinaryReader reader)
    {
        int length = ModelFormat.Count(reader, 0, int.MaxValue, "array length");
        ModelFormat.CheckRemaining(reader, 4L * length);
        var array = new float[length];
        for (int i = 0; i < length; i++) array[i] = reader.ReadSingle();
        return array;
    }
}
