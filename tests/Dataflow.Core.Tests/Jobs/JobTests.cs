namespace Dataflow.Core.Tests.Jobs;

public sealed class JobTests
{
    [Fact]
    public void ResolveOperator_KnownName_ReturnsTheJobsOperator()
    {
        var op = new ConcatOperator();
        var job = Job.Named("resolve").FromPrefix("in/").ReduceTree(2, op).WriteTo("out");

        Assert.Same(op, job.ResolveOperator("concat"));
    }

    [Theory]
    [InlineData("sort")]
    [InlineData("Concat")]
    [InlineData("")]
    public void ResolveOperator_UnknownName_ThrowsNamingJobOperatorAndKnownOperators(string name)
    {
        var job = Job.Named("resolve").FromPrefix("in/").ReduceTree(2, new ConcatOperator()).WriteTo("out");

        var ex = Assert.Throws<JobDefinitionException>(() => job.ResolveOperator(name));

        Assert.Equal("resolve", ex.JobName);
        Assert.StartsWith("job 'resolve': ", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"operator '{name}', which this job does not define", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(it defines: concat)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResolveOperator_Null_ThrowsArgumentNullException()
    {
        var job = Job.Named("resolve").FromPrefix("in/").ReduceTree(2, new ConcatOperator()).WriteTo("out");

        Assert.Throws<ArgumentNullException>(() => job.ResolveOperator(null!));
    }

    [Fact]
    public void JobDefinitionException_WithAndWithoutJob_FormatsMessage()
    {
        var named = new JobDefinitionException("j1", "something is wrong");
        var unnamed = new JobDefinitionException(null, "something is wrong");

        Assert.Equal("job 'j1': something is wrong", named.Message);
        Assert.Equal("j1", named.JobName);
        Assert.Equal("job: something is wrong", unnamed.Message);
        Assert.Null(unnamed.JobName);
    }

    [Fact]
    public void IsPermanentFailure_WithoutARule_OnlyPermanentTaskAndDefinitionErrorsAnywhereInTheChain()
    {
        var job = Job.Named("rules").FromPrefix("in/").ReduceTree(2, new ConcatOperator()).WriteTo("out");

        Assert.True(job.IsPermanentFailure(new PermanentTaskException("bad input")));
        Assert.True(job.IsPermanentFailure(new RecordProcessingException("map task 0/1", new PermanentTaskException("bad record"))));
        Assert.True(job.IsPermanentFailure(new AggregateException(new IOException("flaky"), new JobDefinitionException("rules", "no such operator"))));
        Assert.False(job.IsPermanentFailure(new FormatException("not a number")));
        Assert.False(job.IsPermanentFailure(new IOException("flaky", new TimeoutException())));
    }

    [Fact]
    public void FailPermanentlyOn_Rule_IsAskedAboutInnerExceptionsAndKeptThroughTheBuilder()
    {
        // Set first, kept by every later call of the builder; a mapper's error is found inside the record's.
        var job = Job.Named("rules").FailPermanentlyOn(e => e is FormatException).FromPrefix("in/").ReduceTree(2, new ConcatOperator()).WriteTo("out");

        Assert.True(job.IsPermanentFailure(new FormatException("not a number")));
        Assert.True(job.IsPermanentFailure(new RecordProcessingException("map task 0/1: the mapper failed", new FormatException("not a number"))));
        Assert.False(job.IsPermanentFailure(new IOException("flaky")));
        var replaced = Job.Named("rules").FromPrefix("in/").FailPermanentlyOn(e => e is FormatException).FailPermanentlyOn(e => e is IOException).ReduceTree(2, new ConcatOperator()).WriteTo("out");
        Assert.False(replaced.IsPermanentFailure(new FormatException("not a number")));
        Assert.True(replaced.IsPermanentFailure(new IOException("disk full")));
    }
}
