using Scalor.Cli;

namespace Scalor.Host;

public static class EvalCommand
{
    public static int Run(Parse.EvalCommand cmd) => throw new UserError("eval: under construction");
    public static int BenchAssign(Parse.BenchCommand cmd) => throw new UserError("bench assign: under construction");
}
