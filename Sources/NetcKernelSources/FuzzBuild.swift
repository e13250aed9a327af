// The EmbedKernels plugin writes `netcKernelSources` into this module at build time (each file of
// NetcKernels by name and text, for `netc emit --target swift --self-contained`). SwiftPM needs a source
// file of the target's own besides.

#if NETC_NO_EMBEDDED_KERNELS
  /// A fuzz build (scripts/fuzz.sh) cannot run the EmbedKernels plugin, which makes this list otherwise.
  public let netcKernelSources: [(file: String, text: String)] = []
#endif
