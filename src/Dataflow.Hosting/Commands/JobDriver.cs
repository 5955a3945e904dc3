using Dataflow.Core;
using Dataflow.Storage;
using Dataflow.Worker;

namespace Dataflow.Hosting;

/// <summary>
/// Drives one run of the job for <c>run</c> and <c>resume</c>: defines the job, opens the store, chooses the executor,
/// runs it with progress on stderr, verifies the output and reports, turning errors into exit codes.
/// </summary>
internal sealed class JobDriver(AppDefinition app)
{
    /// <summary>
    /// Runs the job of <paramref name="context"/> (a parsed <c>run</c> command line), or resumes it in
    /// <paramref name="resumeStore"/>, which then belongs to the caller.
    /// </summary>
    /// <returns>The exit code.</returns>
    public async Task<int> RunAsync(RunContext context, IObjectStore? resumeStore, CancellationToken cancellationToken)
    {
        var name = app.Name;
        var driver = app.Driver;
        var verbose = context.Get(driver.Verbose);
        var resuming = resumeStore is not null;
        if (context.Get(driver.CacheHashInputs) && context.Get(driver.Cache) == CacheMode.Off)
        {
            return CommandSupport.Usage(context, "--cache-hash-inputs fingerprints the inputs for the task cache: give it with --cache on or read-only");
        }

        Job job;
        try
        {
            job = app.DefineJob!(context);
        }
        catch (Exception ex) when (CommandSupport.IsJobDefinitionError(ex))
        {
            return CommandSupport.Usage(context, ex.Message);
        }

        using var telemetry = app.Telemetry.Start(context);
        JobRunnerOptions options;
        try
        {
            options = new JobRunnerOptions
            {
                LoggerFactory = telemetry.LoggerFactory,
                Concurrency = context.Concurrency,
                MaxAttempts = context.Get(driver.Attempts),
                TaskTimeout = context.Get(driver.TaskTimeout),
                MaxFailedInputs = context.Get(driver.MaxFailedInputs),
                Speculation = context.Get(driver.Speculate) == SpeculateMode.Off ? SpeculationOptions.Off : new SpeculationOptions { Floor = context.Get(driver.SpeculateAfter) },
                Gc = context.Get(driver.Gc),
                Cache = context.Get(driver.Cache),
                CacheHashesInputs = context.Get(driver.CacheHashInputs),
                Overwrite = context.Get(app.Job.Overwrite),
                RunId = context.RunId,
                Arguments = app.StoredArguments(context),
                Executor = context.Get(driver.Executor) == ExecutorKind.Process
                    ? Executor.WorkerProcesses(new ProcessExecutorOptions
                    {
                        Command = [.. app.WorkerCommand ?? ProcessExecutorOptions.CurrentProgram(), .. app.CommandPrefix],
                        ExtraArguments = context.GivenArguments([.. app.Forwarded, .. app.Telemetry.ForWorkers]),
                    })
                    : Executor.Local,
            };
        }
        catch (InvalidOperationException ex)
        {
            return CommandSupport.Usage(context, $"--executor process: {ex.Message}");
        }

        IObjectStore store;
        var location = context.Get(app.Store.Store);
        if (resumeStore is not null)
        {
            store = resumeStore;
        }
        else if (location is null)
        {
            store = ObjectStore.OpenFolder(Path.Combine(Path.GetTempPath(), "dataflow", $"{name.Replace(' ', '-')}-{context.RunId}"), app.Store.FolderOptions(context));
        }
        else
        {
            var (opened, exitCode) = await CommandSupport.OpenStoreAsync(app, context, location, string.Empty, cancellationToken).ConfigureAwait(false);
            if (opened is null)
            {
                return exitCode;
            }

            store = opened;
        }

        try
        {
            context.Store = store;
            if (context.Get(driver.Executor) is ExecutorKind.Kubernetes or ExecutorKind.Argo)
            {
                // A pod runs a shard of tasks, and its commits are the shard's: there is no free slot of another pod to
                // run one task of it again (see the README's "Stragglers").
                if (context.GivenArguments([driver.Speculate]).Count > 0 && context.Get(driver.Speculate) == SpeculateMode.On)
                {
                    return CommandSupport.Usage(context, $"--speculate on: the {context.Get(driver.Executor).ToString().ToLowerInvariant()} executor runs tasks in shards of pods and cannot start a backup of one task; leave --speculate out (it is ignored there) or use --executor local or process");
                }

                options = options with { Speculation = SpeculationOptions.Off };
                try
                {
                    options = options with { Executor = app.Cluster.CreateExecutor(context, store, context.Get(driver.Executor), context.GivenArguments(app.Forwarded)) };
                }
                catch (FormatException ex)
                {
                    return CommandSupport.Usage(context, ex.Message);
                }
                catch (NotSupportedException ex)
                {
                    return CommandSupport.Usage(context, ex.Message);
                }
                catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
                {
                    return CommandSupport.Usage(context, $"--executor {context.Get(driver.Executor).ToString().ToLowerInvariant()}: {ex.Message}");
                }
            }

            if (options.MaxFailedInputs.AllowsAny && !options.Executor.CanTolerateFailedTasks)
            {
                return CommandSupport.Usage(context, $"--max-failed-inputs {options.MaxFailedInputs}: the {options.Executor.Name} executor cannot go on without a failed task (its stages fail as a whole); use --executor local or process, or leave it at 0");
            }

            if (!resuming)
            {
                context.Info(location is null ? $"store {store.Location} (a new folder)" : $"store {store.Location}");
            }

            try
            {
                if (!resuming && JobRunner.CheckOutputs(store, job) is { } unstorable)
                {
                    return CommandSupport.Usage(context, unstorable);
                }

                if (!resuming && !options.Overwrite && await JobRunner.FindExistingOutputAsync(store, job, cancellationToken).ConfigureAwait(false) is { } existing)
                {
                    return CommandSupport.Usage(context, $"the output '{existing}' already exists in {store.Location}; pass --overwrite to replace it");
                }

                if (!resuming && app.BeforeRun is not null)
                {
                    await app.BeforeRun(context, cancellationToken).ConfigureAwait(false);
                }

                return await RunJobAsync(context, job, options, resuming, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (CommandSupport.IsJobDefinitionError(ex))
            {
                return CommandSupport.Usage(context, ex.Message);
            }
            catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested || ex is RunCancelledException)
            {
                // Cancelled once the plan was stored (by Ctrl+C, or on a request made through the store, which the
                // summary's error names): the run's summary says what committed, as a failed run's does.
                if (ex is RunCancelledException { Summary: { } summary } && context.Get(app.Driver.Json))
                {
                    context.Console.Out.WriteLine(summary.ToJson());
                }

                var cancelled = ex is RunCancelledException { Summary.Error: { } why } ? why : "cancelled";
                context.Info($"{cancelled}; nothing was published; {RunSummaryText.ResumeCommand(name, context.RunId, store.Location)} goes on from what committed");
                return ExitCodes.Cancelled;
            }
            catch (RunLeaseException ex)
            {
                context.Info($"error: {ex.Message}");
                return ExitCodes.Failure;
            }
            catch (Exception ex)
            {
                context.Info($"error: {(verbose ? ex.ToString() : ex.Message)}");
                return ExitCodes.Failure;
            }
        }
        finally
        {
            // A resumed run's store belongs to the resume command.
            if (!resuming)
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<int> RunJobAsync(RunContext context, Job job, JobRunnerOptions options, bool resuming, CancellationToken cancellationToken)
    {
        var runner = new JobRunner(context.Store, options);
        var progress = new RunProgress();
        var json = context.Get(app.Driver.Json);
        RunResult result;
        try
        {
            var display = ProgressDisplay.Start(progress, context.Get(app.Driver.Progress), context.Console.Error, context.Console.ErrorIsTerminal, app.Name);
            await using (display.ConfigureAwait(false))
            {
                result = resuming
                    ? await runner.ResumeAsync(job, context.RunId, progress, cancellationToken).ConfigureAwait(false)
                    : await runner.RunAsync(job, progress, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (JobFailedException ex)
        {
            context.Info($"error: {(context.Get(app.Driver.Verbose) ? ex.InnerException?.ToString() : ex.Message)}");
            RunSummaryText.Write(context, ex.Summary, verification: null, await RunSummaryText.UriAsync(runner, ex.Summary.RunId, CancellationToken.None).ConfigureAwait(false), json);
            context.Info($"what committed is kept: {RunSummaryText.WhatNext(app.Name, ex.Summary.RunId, context.Store.Location)}");
            return ExitCodes.Failure;
        }

        var verification = app.Verify is null ? null : await app.Verify(context, result, cancellationToken).ConfigureAwait(false);
        var summary = result.Summary with { Verified = verification?.Verified ?? false };
        var recordsNotStored = result.RecordsNotStored;
        try
        {
            await runner.WriteSummaryAsync(summary, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            recordsNotStored ??= ex.Message;
        }

        RunSummaryText.Write(context, summary, verification, await RunSummaryText.UriAsync(runner, summary.RunId, cancellationToken).ConfigureAwait(false), json);
        if (recordsNotStored is not null)
        {
            // A failure after publishing: say what is out there and whether it is good, then what failed.
            var checkedOutput = verification switch
            {
                null => "not verified (the program has no check)",
                { Verified: true } => "verified",
                _ => "NOT verified",
            };
            context.Info($"error after publishing: the output {summary.Output} is published and {checkedOutput}, but the run's summary or report could not be stored: {recordsNotStored}");
            return ExitCodes.Failure;
        }

        return verification is { Verified: false } ? ExitCodes.Failure : summary.Partial ? ExitCodes.PartialSuccess : ExitCodes.Success;
    }
}
