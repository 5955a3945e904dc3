namespace Dataflow.Worker.Tests.Runs;

/// <summary><see cref="FailureTolerance"/>: what <c>--max-failed-inputs</c> reads, the budget it gives, and where it is refused.</summary>
public sealed class FailureToleranceTests
{
    [Theory]
    [InlineData("5", 5, 0.0)]
    [InlineData(" 12 ", 12, 0.0)]
    [InlineData("2%", 0, 2.0)]
    [InlineData("0.5%", 0, 0.5)]
    [InlineData("100%", 0, 100.0)]
    public void Parse_CountOrPercent_ReadsIt(string text, int count, double percent)
    {
        var tolerance = FailureTolerance.Parse(text);

        Assert.Equal(count, tolerance.Count);
        Assert.Equal(percent, tolerance.Percent);
        Assert.True(tolerance.AllowsAny);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0%")]
    public void Parse_Zero_IsNone(string text) => Assert.Same(FailureTolerance.None, FailureTolerance.Parse(text));

    [Theory]
    [InlineData("-1")]
    [InlineData("101%")]
    [InlineData("-2%")]
    [InlineData("five")]
    [InlineData("5.5")]
    [InlineData("%")]
    [InlineData("")]
    public void Parse_Junk_ThrowsArgumentExceptionNamingTheOption(string text)
    {
        var ex = Assert.Throws<ArgumentException>(() => FailureTolerance.Parse(text));

        Assert.StartsWith($"max failed inputs: '{text}' is neither a number of inputs", ex.Message, StringComparison.Ordinal);
        Assert.False(FailureTolerance.TryParse(text, out _));
    }

    [Fact]
    public void Factories_OutOfRange_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FailureTolerance.Inputs(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => FailureTolerance.PercentOfInputs(100.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => FailureTolerance.PercentOfInputs(double.NaN));
    }

    [Fact]
    public void Budget_CountOrPercentRoundedDown()
    {
        Assert.Equal(5, FailureTolerance.Inputs(5).Budget(64));
        Assert.Equal(1, FailureTolerance.PercentOfInputs(2).Budget(64));
        Assert.Equal(0, FailureTolerance.PercentOfInputs(1).Budget(64));
        Assert.Equal(64, FailureTolerance.PercentOfInputs(100).Budget(64));
        Assert.Equal(0, FailureTolerance.None.Budget(64));
        Assert.Equal("2%", FailureTolerance.Parse("2%").ToString());
        Assert.Equal("5", FailureTolerance.Parse("5").ToString());
    }

    [Fact]
    public void Validate_ExecutorThatCannotTolerate_ThrowsNamingTheOption()
    {
        var options = new JobRunnerOptions { MaxFailedInputs = FailureTolerance.Inputs(1), Executor = new StageAtATimeExecutor() };

        var ex = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Equal(nameof(JobRunnerOptions.MaxFailedInputs), ex.ParamName);
        Assert.Contains("the stage-at-a-time executor cannot go on without a failed task", ex.Message, StringComparison.Ordinal);
        (options with { MaxFailedInputs = FailureTolerance.None }).Validate();
        (options with { Executor = Executor.Local }).Validate();
    }

    private sealed class StageAtATimeExecutor : TaskExecutor
    {
        public override string Name => "stage-at-a-time";

        public override Task ExecuteAsync(TaskExecution execution, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
