using Dataflow.Examples.WordCount;

return await WordCountProgram.Create().RunAsync(args);
