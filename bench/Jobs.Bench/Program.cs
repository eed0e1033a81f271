return await Jobs.Bench.BenchApp.RunAsync(args);
