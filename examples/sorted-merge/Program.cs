using Dataflow.Examples.SortedMerge;

return await SortedMergeProgram.Create().RunAsync(args);
