using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Scoring;

/// <summary>
/// Scores the current row of an input row or cursor once per position and serves the output columns' getters from
/// that result. One instance per cursor: its buffers are reused row after row, so scoring allocates nothing.
/// </summary>
internal sealed class RowScorer
{
    private readonly DataViewRow _input;
    private readonly NeuralNetworkModelParameters _model;
    private readonly ValueGetter<VBuffer<float>> _getFeatures;
    private readonly float[] _features;
    private readonly float[] _outputs;
    private readonly LayerBuffers _buffers;
    private VBuffer<float> _featureBuffer;
    private long _scoredPosition = -1;

    public RowScorer(DataViewRow input, DataViewSchema.Column featureColumn, NeuralNetworkModelParameters model)
    {
        _input = input;
        _model = model;
        _getFeatures = input.GetGetter<VBuffer<float>>(featureColumn);
        _features = new float[model.InputSize];
        _outputs = new float[model.ScoredValuesPerRow];
        _buffers = new LayerBuffers(model.Layout, model.Activation, 1);
    }

    /// <summary>The getter of output column <paramref name="name"/>, typed as ML.NET asks for it.</summary>
    public Delegate GetGetter(string name) => OutputGetters.Create(_model, name, _outputs, () => 0, EnsureScored);

    private void EnsureScored()
    {
        if (_scoredPosition == _input.Position)
            return;
        _getFeatures(ref _featureBuffer);
        if (_featureBuffer.Length != _features.Length)
            throw new InvalidOperationException(
                $"A row has {_featureBuffer.Length} features, but the model was trained on {_features.Length}.");
        _featureBuffer.CopyTo(_features);
        _model.Score(_features, 1, _buffers, _outputs);
        _scoredPosition = _input.Position;
    }
}
