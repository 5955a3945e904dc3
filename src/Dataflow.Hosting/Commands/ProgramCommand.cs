using System.CommandLine;

namespace Dataflow.Hosting;

/// <summary>
/// A command of the program's own (<see cref="DataflowApp.AddCommand"/>), e.g. <c>generate</c>: its options, then
/// <c>--store</c> (required), the S3 options, <c>--input</c>, <c>--concurrency</c> and <c>--verbose</c>; its handler
/// sees the open store.
/// </summary>
internal sealed class ProgramCommand(string name, string description, AppOption[] options, Func<RunContext, CancellationToken, Task<int>> handler)
{
    public Command Create(AppDefinition app, AppConsole console) =>
        CommandSupport.CreateStoreCommand(
            app,
            console,
            name,
            description,
            [.. options, .. app.Store.All, app.Job.Input, app.Driver.Concurrency, app.Driver.Verbose],
            runId: null,
            (context, _, cancellationToken) => handler(context, cancellationToken));
}
