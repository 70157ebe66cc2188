using ZeroDisk.NbdHost.Cli;

return await NbdHostCommandLine.Create().Parse(args).InvokeAsync();
