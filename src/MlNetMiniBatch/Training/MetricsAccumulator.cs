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
    private readonly double[] _classWeight, _classCorrect;
    private readonly double[]? _positiveHistogram, _negativeHistogram;
    private double _lossSum, _weightSum, _correct, _sumY, _sumYY, _sumSquaredError;

    public MetricsAccumulator(NeuralNetworkTask task, int outputs, float labelMean, float labelStd)
    {
        _task = task;
        _classes = task == NeuralNetworkTask.MulticlassClassification ? outputs : 2;
        _labelMean = labelMean;
        _labelStd = labelStd;
        _classWeight = new double[_classes];
        _classCorrect = new double[_classes];
        if (task == NeuralNetworkTask.BinaryClassification)
        {
            _positiveHistogram = new double[AucBins];
            _negativeHistogram = new double[AucBins];
        }
    }

    public double WeightSum => _weightSum;

    public double MeanLoss => _weightSum > 0 ? _lossSum / _weightSum * LossScale : double.NaN;

    /// <summary>Regression losses are computed on the standardized label; this brings them back to label units.</summary>
    private double LossScale => _task == NeuralNetworkTask.Regression ? (double)_labelStd * _labelStd : 1;

    public void Reset()
    {
        Array.Clear(_classWeight);
        Array.Clear(_classCorrect);
        if (_positiveHistogram is not null) Array.Clear(_positiveHistogram);
        if (_negativeHistogram is not null) Array.Clear(_negativeHistogram);
        _lossSum = _weightSum = _correct = _sumY = _sumYY = _sumSquaredError = 0;
    }

    /// <param name="lossSum">Σ weight·loss over the batch, as returned by Losses.Compute.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int rows, double lossSum)
    {
        _lossSum += lossSum;
        for (int r = 0; r < rows; r++)
        {
            double w = weights[r];
            _weightSum += w;
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
                    (label == 1 ? _positiveHistogram! : _negativeHistogram!)[bin] += w;
                    break;
                }
                default:
                {
                    double y = targets[r] * (double)_labelStd + _labelMean;
                    double prediction = logits[r] * (double)_labelStd + _labelMean;
                    _sumY += w * y;
                    _sumYY += w * y * y;
                    _sumSquaredError += w * (y - prediction) * (y - prediction);
                    break;
                }
            }
        }
    }

    private void Count(int label, int predicted, double weight)
    {
        _classWeight[label] += weight;
        if (label == predicted)
        {
            _classCorrect[label] += weight;
            _correct += weight;
        }
    }

    public EpochMetrics Result()
    {
        double loss = MeanLoss;
        if (_weightSum <= 0)
            return new EpochMetrics(loss);
        switch (_task)
        {
            case NeuralNetworkTask.MulticlassClassification:
            {
                double macro = 0;
                int present = 0;
                for (int k = 0; k < _classes; k++)
                {
                    if (_classWeight[k] <= 0) continue;
                    macro += _classCorrect[k] / _classWeight[k];
                    present++;
                }
                return new EpochMetrics(loss, accuracy: _correct / _weightSum, macroAccuracy: present > 0 ? macro / present : null);
            }
            case NeuralNetworkTask.BinaryClassification:
                return new EpochMetrics(loss, accuracy: _correct / _weightSum, areaUnderRocCurve: Auc());
            default:
            {
                double meanSquaredError = _sumSquaredError / _weightSum;
                double totalSquares = _sumYY - _sumY * _sumY / _weightSum;
                return new EpochMetrics(loss, rootMeanSquaredError: Math.Sqrt(meanSquaredError),
                    rSquared: totalSquares > 0 ? 1 - _sumSquaredError / totalSquares : null);
            }
        }
    }

    /// <summary>P(score of a positive &gt; score of a negative), ties within a bin counting one half.</summary>
    private double? Auc()
    {
        double positives = 0, negatives = 0, area = 0;
        for (int b = 0; b < AucBins; b++)
        {
            double p = _positiveHistogram![b], n = _negativeHistogram![b];
            area += p * (negatives + 0.5 * n);
            positives += p;
            negatives += n;
        }
        return positives > 0 && negatives > 0 ? area / (positives * negatives) : null;
    }
}
