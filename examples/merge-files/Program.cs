using Dataflow.Examples.MergeFiles;

return await MergeFilesProgram.Create().RunAsync(args);
