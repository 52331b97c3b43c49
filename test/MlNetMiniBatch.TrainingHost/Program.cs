// Trains ResumeScenario with checkpoints in args[0]; prints "epoch E batch B" after every batch and, once it reaches
// epoch args[1] batch args[2], stops making progress so the caller can kill it in the middle of that epoch.
using Microsoft.ML;
using MlNetMiniBatch;
using MlNetMiniBatch.TrainingHost;

string directory = args[0];
int stallEpoch = int.Parse(args[1]), stallBatch = int.Parse(args[2]);
var ml = new MLContext(1);
var options = ResumeScenario.Options(directory);
options.ProgressInterval = TimeSpan.Zero;
options.Progress = new Reporter(stallEpoch, stallBatch);
ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(ResumeScenario.Data(ml));
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
