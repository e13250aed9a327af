// swift-tools-version:6.0
import PackageDescription

// One target per compiler stage; a stage imports only the stages before it:
// NetcBasic <- NetcOps <- NetcSyntax <- NetcSema <- {NetcReport, NetcGraph, NetcIR <- NetcTensors <- NetcRuntime
// <- NetcBackends} <- NetcDriver <- netc; beside them NetcSyntax <- NetcFormat (`netc fmt`) <- NetcDriver, and
// {NetcFormat, NetcReport} <- NetcLanguageServer (`netc lsp`) <- NetcDriver.
// NetcOps defines every operation once (its rule, cost, names, lowering, kernel binding and emitters);
// each stage asks it rather than switching over operations.
// Under them all, NetcKernels (the kernels, the weight file and the weights' preparation) imports nothing
// of netc: NetcKernels <- NetcOps. It is the library the emitted Swift imports; the EmbedKernels plugin
// puts its sources into NetcKernelSources, which the netc executable hands the driver for
// `netc emit --target swift --self-contained`.
// NetcPlugin, the build plugin apps apply, runs netc-plugin-tool: the driver without NetcKernelSources,
// since SwiftPM builds a plugin's tool without running build plugins on the tool's own targets.
// The kernels and the interpreter are built for speed with flags SwiftPM calls unsafe, which it refuses in
// a package another depends on by version. Checked out as such a dependency (SwiftPM puts it under a
// `checkouts` folder), netc builds without them; an app then gets the same kernels by building with
// `-Xswiftc -Ounchecked -Xswiftc -target-cpu -Xswiftc native` (README, "netc as a package dependency").
let isDependency = Context.packageDirectory.contains("/checkouts/")
func speedFlags(_ flags: [String]) -> [SwiftSetting] { isDependency ? [] : [.unsafeFlags(flags)] }

let package = Package(
  name: "netc",
  products: [
    .executable(name: "netc", targets: ["netc"]),
    .library(name: "NetcDriver", targets: ["NetcDriver"]),
    // What an app links to run the Swift that `netc emit --target swift` writes.
    .library(name: "NetcKernels", type: .static, targets: ["NetcKernels"]),
    // Compiles the `.net` specs among a target's sources into Swift at build time (that target also
    // depends on NetcKernels); README, "The NetcPlugin build plugin".
    .plugin(name: "NetcPlugin", targets: ["NetcPlugin"]),
  ],
  targets: [
    .target(name: "NetcBasic"),
    // Every operation, defined once: what each stage asks of it. The parser reads its keywords.
    .target(name: "NetcOps", dependencies: ["NetcBasic", "NetcKernels"]),
    .target(name: "NetcSyntax", dependencies: ["NetcBasic", "NetcOps"]),
    .target(name: "NetcFormat", dependencies: ["NetcBasic", "NetcSyntax"]),
    .target(name: "NetcSema", dependencies: ["NetcBasic", "NetcOps", "NetcSyntax"]),
    .target(name: "NetcReport", dependencies: ["NetcBasic", "NetcOps", "NetcSema"]),
    .target(name: "NetcGraph", dependencies: ["NetcBasic", "NetcOps", "NetcSema"]),
    .target(name: "NetcIR", dependencies: ["NetcBasic", "NetcOps", "NetcSema"]),
    // The kernels run on validated buffers only; checks would cost speed. Its weight file reader makes
    // every bounds and overflow check itself (this build removes Swift's).
    // One LLVM module for the whole target (SwiftPM's release build otherwise splits it per source file):
    // the kernels call across their files, and the split made ResNet-50 3% slower than one file.
    .target(name: "NetcKernels",
            swiftSettings: speedFlags(["-Ounchecked", "-target-cpu", "native", "-Xfrontend", "-enable-single-module-llvm-emission"])
              + [.swiftLanguageMode(.v5)]),
    // Weight and tensor files come from anywhere: their readers keep every bounds and overflow check.
    .target(name: "NetcTensors", dependencies: ["NetcBasic", "NetcOps", "NetcSema", "NetcIR", "NetcKernels"]),
    // The interpreter runs on validated buffers only; checks would cost speed.
    .target(name: "NetcRuntime", dependencies: ["NetcBasic", "NetcOps", "NetcSema", "NetcIR", "NetcKernels", "NetcTensors"],
            swiftSettings: speedFlags(["-Ounchecked", "-target-cpu", "native"]) + [.swiftLanguageMode(.v5)]),
    .target(name: "NetcBackends", dependencies: ["NetcBasic", "NetcOps", "NetcSema", "NetcIR", "NetcKernels", "NetcTensors", "NetcRuntime"]),
    // NetcKernels' sources as string literals, made at build time for `netc emit --self-contained`.
    .target(name: "NetcKernelSources", plugins: ["EmbedKernels"]),
    .plugin(name: "EmbedKernels", capability: .buildTool(), dependencies: ["EmbedSources"]),
    .executableTarget(name: "EmbedSources"),
    // `netc lsp`: the Language Server Protocol over stdio, from the front end, the figures and the formatter.
    .target(name: "NetcLanguageServer", dependencies: ["NetcBasic", "NetcOps", "NetcSyntax", "NetcFormat", "NetcSema", "NetcReport"]),
    .target(name: "NetcDriver",
            dependencies: ["NetcBasic", "NetcOps", "NetcSyntax", "NetcFormat", "NetcSema", "NetcReport", "NetcGraph", "NetcIR", "NetcKernels", "NetcTensors", "NetcRuntime", "NetcBackends", "NetcLanguageServer"]),
    .executableTarget(name: "netc", dependencies: ["NetcDriver", "NetcKernelSources"]),
    // `netc emit --target swift` for every `.net` file of the target it is applied to.
    .plugin(name: "NetcPlugin", capability: .buildTool(), dependencies: ["netc-plugin-tool"]),
    .executableTarget(name: "netc-plugin-tool", dependencies: ["NetcDriver"]),
    .testTarget(
      name: "NetcTests",
      dependencies: ["NetcBasic", "NetcOps", "NetcSyntax", "NetcFormat", "NetcSema", "NetcReport", "NetcGraph", "NetcIR", "NetcKernels", "NetcTensors", "NetcRuntime", "NetcBackends", "NetcKernelSources", "NetcLanguageServer", "NetcDriver", "netc"],
      exclude: ["Inputs", "Snapshots"]
    ),
  ]
)

// libFuzzer targets, built only by scripts/fuzz.sh (NETC_FUZZ=1, `--sanitize fuzzer --sanitize address`):
// libFuzzer supplies `main`, so they would not link in an ordinary build.
if Context.environment["NETC_FUZZ"] != nil {
  // libFuzzer supplies `main` to every executable of such a build, the EmbedKernels plugin's tool included,
  // which could not run: netc goes without the kernels' sources there (only `--self-contained` writes
  // them, and the fuzz targets emit the default form).
  package.targets.removeAll { $0.name == "EmbedKernels" || $0.name == "EmbedSources" }
  for target in package.targets where target.name == "NetcKernelSources" {
    target.plugins = []
    target.swiftSettings = [.define("NETC_NO_EMBEDDED_KERNELS")]
  }
  for name in ["source", "safetensors", "npy", "plan", "runinput", "weights"] {
    package.targets.append(
      .executableTarget(name: "fuzz-\(name)", dependencies: ["NetcDriver", "NetcFormat", "NetcOps", "NetcSema", "NetcTensors", "NetcIR", "NetcBackends", "NetcGraph"],
                        path: "Fuzz/\(name)", swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
  }
}
