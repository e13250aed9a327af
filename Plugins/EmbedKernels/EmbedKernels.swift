// Puts NetcKernels' sources into the target it is applied to (NetcKernelSources) for
// `netc emit --target swift --self-contained`, which writes them after the network's class. The file is
// made at build time from the library itself, so the inline copy cannot drift from what apps link.
import Foundation
import PackagePlugin

@main
struct EmbedKernels: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    guard let kernels = try context.package.targets(named: ["NetcKernels"]).first as? SourceModuleTarget else {
      throw EmbedKernelsError("the package has no source target NetcKernels")
    }
    let inputs = kernels.sourceFiles(withSuffix: "swift").map(\.url).sorted { $0.lastPathComponent < $1.lastPathComponent }
    let output = context.pluginWorkDirectoryURL.appendingPathComponent("NetcKernelSources.swift")
    return [
      .buildCommand(displayName: "Embedding NetcKernels' \(inputs.count) sources for netc emit --self-contained",
                    executable: try context.tool(named: "EmbedSources").url,
                    arguments: [output.path] + inputs.map(\.path), inputFiles: inputs, outputFiles: [output])
    ]
  }
}

struct EmbedKernelsError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
