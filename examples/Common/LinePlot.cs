// PNG line plots for the examples, drawn with ScottPlot (SkiaSharp underneath). ScottPlot types stay out of the
// public surface so that the examples read as plain data in, PNG out.
//
// Fonts: SkiaSharp here is the NoDependencies build, which reads font files from /usr/share/fonts itself (no
// fontconfig). A machine with no fonts at all still gets a valid PNG with its lines, grid and legend swatches, only
// without text; FontFamily is then null so that a program can say so. On Debian, fonts-dejavu-core brings one.
using ScottPlot;
using ScottPlot.TickGenerators;

namespace MlNetMiniBatch.Examples;

/// <summary>One line of a <see cref="LinePlot"/>: a label for the legend and the points, in order.</summary>
public sealed class LineSeries
{
    internal LineSeries(string label, double[] x, double[] y, bool dashed)
    {
        Label = label;
        X = x;
        Y = y;
        Dashed = dashed;
    }

    /// <summary>Legend text.</summary>
    public string Label { get; }

    /// <summary>X values (a copy of what was passed).</summary>
    public IReadOnlyList<double> X { get; }

    /// <summary>Y values (a copy of what was passed); NaN leaves a gap.</summary>
    public IReadOnlyList<double> Y { get; }

    /// <summary>Whether the line is dashed.</summary>
    public bool Dashed { get; }
}

/// <summary>
/// A plot of one line per series, with a title, axis labels, a legend and optionally a logarithmic x axis, saved as
/// a PNG on its own or side by side with other panels (<see cref="SavePng(string, int, int, IReadOnlyList{LinePlot})"/>).
/// </summary>
/// <example>
/// <code>
/// var plot = new LinePlot("Validation loss", "epoch", "loss");
/// plot.Add("batch 32", epochs, loss32).Add("batch 128", epochs, loss128);
/// plot.SavePng("loss.png", 800, 500);
/// </code>
/// </example>
public sealed class LinePlot
{
    /// <summary>Series with at most this many points are drawn with a marker on every point.</summary>
    public const int MarkerPointLimit = 60;

    private readonly List<LineSeries> _series = new();

    /// <summary>Creates an empty plot.</summary>
    public LinePlot(string title, string xLabel, string yLabel)
    {
        Title = title ?? throw new ArgumentNullException(nameof(title));
        XLabel = xLabel ?? throw new ArgumentNullException(nameof(xLabel));
        YLabel = yLabel ?? throw new ArgumentNullException(nameof(yLabel));
    }

    /// <summary>The font family used for text, or null when this machine has no font: the PNGs are then drawn without
    /// text (lines, grid and legend swatches only). On Debian/Ubuntu, <c>apt-get install fonts-dejavu-core</c> adds one.</summary>
    public static string? FontFamily => PlotFonts.Family;

    /// <summary>Title above the plot.</summary>
    public string Title { get; }

    /// <summary>Label of the x axis.</summary>
    public string XLabel { get; }

    /// <summary>Label of the y axis.</summary>
    public string YLabel { get; }

    /// <summary>Whether the x axis is logarithmic (base 10); every x must then be positive.</summary>
    public bool LogScaleX { get; init; }

    /// <summary>Whether the x axis shows only whole numbers (epochs, batch counts). Ignored with <see cref="LogScaleX"/>.</summary>
    public bool IntegerX { get; init; }

    /// <summary>Whether the legend is drawn (below the plot). Default null: when there are two series or more.</summary>
    public bool? ShowLegend { get; init; }

    /// <summary>The series added so far, in legend order.</summary>
    public IReadOnlyList<LineSeries> Series => _series;

    /// <summary>Adds a line. <paramref name="x"/> and <paramref name="y"/> must have the same length; they are copied.</summary>
    /// <returns>This plot, to chain calls.</returns>
    public LinePlot Add(string label, IReadOnlyList<double> x, IReadOnlyList<double> y, bool dashed = false)
    {
        ArgumentNullException.ThrowIfNull(label);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count)
            throw new ArgumentException($"Series '{label}' has {x.Count} x values but {y.Count} y values.", nameof(y));
        if (LogScaleX)
        {
            foreach (double value in x)
                if (!(value > 0))
                    throw new ArgumentOutOfRangeException(nameof(x), value, $"Series '{label}': a logarithmic x axis needs positive x values.");
        }
        _series.Add(new LineSeries(label, x.ToArray(), y.ToArray(), dashed));
        return this;
    }

    /// <summary>Writes this plot as a PNG of <paramref name="width"/> × <paramref name="height"/> pixels, creating the
    /// directory if needed.</summary>
    public void SavePng(string path, int width, int height) => SavePng(path, width, height, new[] { this });

    /// <summary>Writes <paramref name="panels"/> side by side, left to right, as one PNG of <paramref name="width"/> ×
    /// <paramref name="height"/> pixels (each panel gets an equal share of the width), creating the directory if needed.</summary>
    public static void SavePng(string path, int width, int height, IReadOnlyList<LinePlot> panels)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(panels);
        if (panels.Count == 0)
            throw new ArgumentException("At least one panel is needed.", nameof(panels));
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 10 * panels.Count);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 10);

        string fullPath = Path.GetFullPath(path);
        if (Path.GetDirectoryName(fullPath) is { Length: > 0 } directory)
            Directory.CreateDirectory(directory);

        PlotFonts.EnsureConfigured();
        if (panels.Count == 1)
        {
            panels[0].ToScottPlot().SavePng(fullPath, width, height);
            return;
        }
        var multiplot = new Multiplot(panels[0].ToScottPlot()) { Layout = new ScottPlot.MultiplotLayouts.Columns() };
        foreach (LinePlot panel in panels.Skip(1))
            multiplot.AddPlot(panel.ToScottPlot());
        multiplot.SavePng(fullPath, width, height);
    }

    private Plot ToScottPlot()
    {
        var plot = new Plot();
        plot.Title(Title);
        plot.XLabel(XLabel);
        plot.YLabel(YLabel);

        foreach (LineSeries series in _series)
        {
            double[] xs = LogScaleX ? series.X.Select(Math.Log10).ToArray() : series.X.ToArray();
            var scatter = plot.Add.Scatter(xs, series.Y.ToArray());
            scatter.LegendText = series.Label;
            scatter.LineWidth = 2;
            scatter.MarkerSize = series.X.Count <= MarkerPointLimit ? 6 : 0;
            if (series.Dashed)
                scatter.LinePattern = LinePattern.Dashed;
        }

        if (LogScaleX)
            plot.Axes.Bottom.TickGenerator = LogTicks();
        else if (IntegerX)
            plot.Axes.Bottom.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };

        if (ShowLegend ?? _series.Count > 1)
            plot.ShowLegend(Edge.Bottom); // outside the data area: never hides a line
        else
            plot.HideLegend(); // ScottPlot draws one inside the data area by default once a series has a legend text
        return plot;
    }

    /// <summary>Ticks for an axis that holds log10(x): labelled with x itself, decades when the data span one or more.</summary>
    private NumericAutomatic LogTicks()
    {
        double[] logs = _series.SelectMany(s => s.X).Select(Math.Log10).ToArray();
        bool spansDecade = logs.Length > 0 && logs.Max() - logs.Min() >= 1;
        return new NumericAutomatic
        {
            IntegerTicksOnly = spansDecade,
            MinorTickGenerator = new LogMinorTickGenerator(),
            LabelFormatter = log => Math.Pow(10, log).ToString(spansDecade ? "N0" : "G3", System.Globalization.CultureInfo.InvariantCulture),
        };
    }
}

/// <summary>Picks a sans-serif font for ScottPlot once (ScottPlot's own default here is a serif one).</summary>
internal static class PlotFonts
{
    private static readonly string[] Candidates =
        { "DejaVu Sans", "Liberation Sans", "Noto Sans", "Open Sans", "Arial", "Helvetica", "Segoe UI" };

    private static readonly Lazy<string?> Configured = new(Configure);

    public static string? Family => Configured.Value;

    public static void EnsureConfigured() => _ = Configured.Value;

    private static string? Configure()
    {
        foreach (string name in Candidates)
        {
            if (string.Equals(Fonts.GetTypeface(name, bold: false, italic: false)?.FamilyName, name, StringComparison.OrdinalIgnoreCase))
            {
                Fonts.Default = name;
                return name;
            }
        }
        // No preferred font: keep whatever ScottPlot found ("" when the machine has none).
        return string.IsNullOrEmpty(Fonts.Default) ? null : Fonts.Default;
    }
}
