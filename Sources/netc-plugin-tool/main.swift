// netc as the NetcPlugin build plugin runs it: the same driver as the netc executable, without
// NetcKernels' sources (SwiftPM builds a plugin's tool without running build plugins on its targets, so
// the EmbedKernels plugin cannot make them there). `emit --self-contained` is the only command that
// needs them, and the plugin does not use it.
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import NetcDriver

exit(Driver.main(CommandLine.arguments))
