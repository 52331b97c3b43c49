using System.Numerics;
using System.Runtime.Intrinsics;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>
/// .ci/run reruns the kernel, optimizer and reader tests with the runtime's SIMD switched off, to reach their
/// fallbacks. A switch the runtime does not know is silently ignored (.NET 10 reads DOTNET_EnableAVX512, not the
/// older DOTNET_EnableAVX512F), and the rerun would then test the AVX-512 code again; this checks each switch bit.
/// </summary>
[TestClass]
public sealed class IntrinsicsEnvironmentTests
{
    [TestMethod]
    public void TheSimdSwitchesTheRerunsSetAreHonoured()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX512F") == "0" || Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0")
            Assert.IsFalse(Vector512.IsHardwareAccelerated, "AVX-512 was switched off, yet Vector512 is accelerated: set DOTNET_EnableAVX512=0.");
        if (Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic") == "0")
        {
            Assert.IsFalse(Vector128.IsHardwareAccelerated, "Hardware intrinsics were switched off, yet Vector128 is accelerated.");
            Assert.IsFalse(Vector.IsHardwareAccelerated, "Hardware intrinsics were switched off, yet Vector<T> is accelerated.");
        }
    }
}
