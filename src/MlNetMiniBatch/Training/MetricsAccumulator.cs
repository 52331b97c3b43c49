using System.Runtime.CompilerServices;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Sums what the task's metrics need over the rows of one pass, batch by batch, in memory that does not grow with
/// the rows: per-class weights for accuracy, a probability histogram for AUC, moment sums for RMSE and R².
/// </summary>
internal sealed class MetricsAccumulator
{
    private const int AucBins = 1 << 16;

    private readonly NeuralNetworkTask _task;
    private readonly int _classes;
    private readonly float _labelMean, _labelStd;
    // Every sum lives in one array, so that a distributed run adds them over all ranks in one reduction (Sums): six
    // scalars, then per class the weight and the correctly predicted weight, then (binary) the two AUC histograms.
    private const int LossSum = 0, TotalWeight = 1, Correct = 2, SumY = 3, SumYY = 4, SumSquaredError = 5, ClassWeight = 6;
    private readonly int _classCorrect, _positiveHistogram, _negativeHistogram;
    private readonly double[] _sums;

    public MetricsAccumulator(NeuralNetworkTask task, int outputs, float labelMean, float labelStd)
    {
        _task = task;
        _classes = task == NeuralNetworkTask.MulticlassClassification ? outputs : 2;
        _labelMean = labelMean;
        _labelStd = labelStd;
        _classCorrect = ClassWeight + _classes;
        _positiveHistogram = _classCorrect + _classes;
        _negativeHistogram = _positiveHistogram + AucBins;
        _sums = new double[task == NeuralNetworkTask.BinaryClassification ? _negativeHistogram + AucBins : _positiveHistogram];
    }

    /// <summary>Every sum the metrics come from: the element-wise sum of two accumulators' sums is the accumulator of both passes.</summary>
    public Span<double> Sums => _sums;

    public double WeightSum => _sums[TotalWeight];

    public double MeanLoss => WeightSum > 0 ? _sums[LossSum] / WeightSum * LossScale : double.NaN;

    /// <summary>Regression losses are computed on the standardized label; this brings them back to label units.</summary>
    private double LossScale => _task == NeuralNetworkTask.Regression ? (double)_labelStd * _labelStd : 1;

    public void Reset()
    {
        Array.Clear(_sums);
    }

    /// <param name="lossSum">Σ weight·loss over the batch, as returned by Losses.Compute.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int rows, double lossSum)
    {
        var sums = _sums;
        sums[LossSum] += lossSum;
        for (int r = 0; r < rows; r++)
        {
            double w = weights[r];
            sums[TotalWeight] += w;
            switch (_task)
            {
                case NeuralNetworkTask.MulticlassClassification:
                {
                    var z = logits.Slice(r * _classes, _classes);
                    int predicted = 0;
                    for (int k = 1; k < _classes; k++)
                        if (z[k] > z[predicted]) predicted = k;
                    int label = (int)targets[r];
                    Count(label, predicted, w);
                    break;
                }
                case NeuralNetworkTask.BinaryClassification:
                {
                    int label = targets[r] > 0.5f ? 1 : 0;
                    Count(label, logits[r] > 0 ? 1 : 0, w);
                    double probability = Network.Losses.Sigmoid(logits[r]);
                    int bin = Math.Min(AucBins - 1, (int)(probability * AucBins));
                    sums[(label == 1 ? _positiveHistogram : _negativeHistogram) + bin] += w;
                    break;
                }
                default:
                {
                    double y = targets[r] * (double)_labelStd + _labelMean;
                    double prediction = logits[r] * (double)_labelStd + _labelMean;
                    sums[SumY] += w * y;
                    sums[SumYY] += w * y * y;
                    sums[SumSquaredError] += w * (y - prediction) * (y - prediction);
                    break;
                }
            }
        }
    }

    private void Count(int label, int predicted, double weight)
    {
        _sums[ClassWeight + label] += weight;
        if (label == predicted)
        {
            _sums[_classCorrect + label] += weight;
            _sums[Correct] += weight;
        }
    }

    public EpochMetrics Result()
    {
        double loss = MeanLoss;
        double weightSum = WeightSum;
        if (weightSum <= 0)
            return new EpochMetrics(loss);
        switch (_task)
        {
            case NeuralNetworkTask.MulticlassClassification:
            {
                double macro = 0;
                int present = 0;
                for (int k = 0; k < _classes; k++)
                {
                    double classWeight = _sums[ClassWeight + k];
                    if (classWeight <= 0) continue;
                    macro += _sums[_classCorrect + k] / classWeight;
                    present++;
                }
                return new EpochMetrics(loss, accuracy: _sums[Correct] / weightSum, macroAccuracy: present > 0 ? macro / present : null);
            }
            case NeuralNetworkTask.BinaryClassification:
                return new EpochMetrics(loss, accuracy: _sums[Correct] / weightSum, areaUnderRocCurve: Auc());
            default:
            {
                double squaredError = _sums[SumSquaredError], sumY = _sums[SumY];
                double totalSquares = _sums[SumYY] - sumY * sumY / weightSum;
                return new EpochMetrics(loss, rootMeanSquaredError: Math.Sqrt(squaredError / weightSum),
                    rSquared: totalSquares > 0 ? 1 - squaredError / totalSquares : null);
            }
        }
    }

    /// <summary>P(score of a positive &gt; score of a negative), ties within a bin counting one half.</summary>
    private double? Auc()
    {
        double positives = 0, negatives = 0, area = 0;
        for (int b = 0; b < AucBins; b++)
        {
            double p = _sums[_positiveHistogram + b], n = _sums[_negativeHistogram + b];
            area += p * (negatives + 0.5 * n);
            positives += p;
            negatives += n;
        }
        return positives > 0 && negatives > 0 ? area / (positives * negatives) : null;
    }
}
