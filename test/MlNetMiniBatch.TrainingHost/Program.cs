// Trains ResumeScenario with checkpoints in args[0] and prints "epoch E batch B" after every batch. Then it stops making
// progress, so that the caller can kill it at a chosen moment:
//   <directory> batch <E> <B>   after batch B of epoch E (in the middle of an epoch);
//   <directory> write <E>       inside the write of epoch E's checkpoint, once half of its temporary file is on disk
//                               (prints "writing the checkpoint of epoch E").
// A trailing "--streamed <shuffle directory>" trains the uncached rows through the streaming shuffle instead.
using Microsoft.ML;
using MlNetMiniBatch;
using MlNetMiniBatch.Persistence;
using MlNetMiniBatch.TrainingHost;

string directory = args[0];
int stallEpoch = int.Parse(args[2]), stallBatch = args[1] == "batch" ? int.Parse(args[3]) : -1;
if (args[1] == "write")
    Checkpoint.PartlyWritten = epoch =>
    {
        if (epoch != stallEpoch)
            return;
        Console.WriteLine($"writing the checkpoint of epoch {epoch}");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
    };
int streamed = Array.IndexOf(args, "--streamed");
var ml = new MLContext(1);
var options = streamed < 0 ? ResumeScenario.Options(directory) : ResumeScenario.StreamedOptions(directory, args[streamed + 1]);
options.ProgressInterval = TimeSpan.Zero;
options.Progress = new Reporter(stallEpoch, stallBatch);
ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(streamed < 0 ? ResumeScenario.Data(ml) : ResumeScenario.StreamedData(ml));
Console.WriteLine("finished");
return 0;

internal sealed class Reporter(int stallEpoch, int stallBatch) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value)
    {
        if (value.IsEpochEnd)
            return;
        Console.WriteLine($"epoch {value.Epoch} batch {value.Batch}");
        Console.Out.Flush();
        if (value.Epoch == stallEpoch && value.Batch == stallBatch)
            Thread.Sleep(Timeout.Infinite);
    }
}
