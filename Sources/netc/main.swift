#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import NetcDriver
import NetcKernelSources

exit(Driver.main(CommandLine.arguments, kernelSources: netcKernelSources))
