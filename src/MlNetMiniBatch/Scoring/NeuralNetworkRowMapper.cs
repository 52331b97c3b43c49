namespace MlNetMiniBatch.Scoring;

/// <summary>Row-to-row mapping for <c>PredictionEngine</c>: scores one row at a time without a cursor.</summary>
internal sealed class NeuralNetworkRowMapper : IRowToRowMapper
{
    private readonly NeuralNetworkPredictionTransformer _transformer;

    public NeuralNetworkRowMapper(DataViewSchema inputSchema, NeuralNetworkPredictionTransformer transformer)
    {
        InputSchema = inputSchema;
        _transformer = transformer;
        OutputSchema = transformer.GetOutputSchema(inputSchema);
    }

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
        => ScoringDependencies.InputColumns(InputSchema, _transformer.FeatureColumnName, dependingColumns);

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Schema != InputSchema)
            throw new ArgumentException("The row's schema is not the schema this mapper was made for.", nameof(input));
        return new ScoredCursor(input, OutputSchema, InputSchema[_transformer.FeatureColumnName], _transformer.Model, activeColumns, ownsInput: false);
    }
}
