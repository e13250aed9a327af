#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import NetcDriver

exit(Driver.main(CommandLine.arguments))
