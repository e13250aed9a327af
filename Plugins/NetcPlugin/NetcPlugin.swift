// Turns every `.net` spec among a target's sources into Swift at build time: `netc emit --target swift`
// writes each into the plugin's work directory, and the target compiles the class it holds against the
// NetcKernels library, which the target must depend on. A spec with a mistake fails the build with
// netc's diagnostic (file:line:col) in the build log.
import Foundation
import PackagePlugin

@main
struct NetcPlugin: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    guard let target = target as? SourceModuleTarget else { return [] }
    let specs = target.sourceFiles.map(\.url).filter { $0.pathExtension == "net" }
      .sorted { $0.path < $1.path }
    guard !specs.isEmpty else { return [] }
    guard dependsOnKernels(target) else {
      throw NetcPluginError("""
        target '\(target.name)' turns .net specs into Swift that imports NetcKernels: add \
        .product(name: "NetcKernels", package: "netc") to its dependencies
        """)
    }
    let netc = try context.tool(named: "netc-plugin-tool").url
    var taken: [String: Int] = [:]
    return specs.map { spec in
      // Specs of one file name in different folders each get a Swift file: the second name.2.swift, ...
      let name = spec.deletingPathExtension().lastPathComponent
      taken[name, default: 0] += 1
      let file = taken[name]! == 1 ? "\(name).swift" : "\(name).\(taken[name]!).swift"
      let output = context.pluginWorkDirectoryURL.appendingPathComponent(file)
      return .buildCommand(
        displayName: "Compiling network \(spec.lastPathComponent) with netc",
        executable: netc,
        arguments: ["emit", "--target", "swift", "--color", "never", spec.path, "-o", output.path],
        inputFiles: [spec], outputFiles: [output])
    }
  }

  private func dependsOnKernels(_ target: SourceModuleTarget) -> Bool {
    target.recursiveTargetDependencies.contains { $0.name == "NetcKernels" }
  }
}

struct NetcPluginError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
