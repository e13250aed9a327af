// swift-tools-version:6.0
import PackageDescription

// One target per compiler stage; a stage imports only the stages before it:
// NetcBasic <- NetcOps (every operation, defined once) <- NetcSyntax <- NetcSema <- {NetcReport, NetcGraph, NetcIR <- NetcTensors <- NetcRuntime <- NetcBackends}
// <- NetcDriver <- netc; beside them NetcSyntax <- NetcFormat (`netc fmt`) <- NetcDriver
let package = Package(
  name: "netc",
  products: [
    .executable(name: "netc", targets: ["netc"]),
    .library(name: "NetcDriver", targets: ["NetcDriver"]),
  ],
  targets: [
    .target(name: "NetcBasic"),
    // Every operation, defined once: what each stage asks of it. The parser reads its keywords.
    .target(name: "NetcOps", dependencies: ["NetcBasic"]),
    .target(name: "NetcSyntax", dependencies: ["NetcBasic", "NetcOps"]),
    .target(name: "NetcFormat", dependencies: ["NetcBasic", "NetcSyntax"]),
    .target(name: "NetcSema", dependencies: ["NetcBasic", "NetcOps", "NetcSyntax"]),
    .target(name: "NetcReport", dependencies: ["NetcBasic", "NetcOps", "NetcSema"]),
    .target(name: "NetcGraph", dependencies: ["NetcBasic", "NetcOps", "NetcSema"]),
    .target(name: "NetcIR", dependencies: ["NetcBasic", "NetcOps", "NetcSema"]),
    // Weight and tensor files come from anywhere: their readers keep every bounds and overflow check.
    .target(name: "NetcTensors", dependencies: ["NetcBasic", "NetcOps", "NetcSema", "NetcIR"]),
    // The kernels and the interpreter run on validated buffers only; checks would cost speed.
    .target(name: "NetcRuntime", dependencies: ["NetcBasic", "NetcOps", "NetcSema", "NetcIR", "NetcTensors"],
            swiftSettings: [.unsafeFlags(["-Ounchecked", "-target-cpu", "native"]), .swiftLanguageMode(.v5)]),
    .target(name: "NetcBackends", dependencies: ["NetcBasic", "NetcOps", "NetcSema", "NetcIR", "NetcTensors", "NetcRuntime"]),
    .target(name: "NetcDriver",
            dependencies: ["NetcBasic", "NetcOps", "NetcSyntax", "NetcFormat", "NetcSema", "NetcReport", "NetcGraph", "NetcIR", "NetcTensors", "NetcRuntime", "NetcBackends"]),
    .executableTarget(name: "netc", dependencies: ["NetcDriver"]),
    .testTarget(
      name: "NetcTests",
      dependencies: ["NetcBasic", "NetcOps", "NetcSyntax", "NetcFormat", "NetcSema", "NetcReport", "NetcGraph", "NetcIR", "NetcTensors", "NetcRuntime", "NetcBackends", "NetcDriver", "netc"],
      exclude: ["Inputs", "Snapshots"]
    ),
  ]
)

// libFuzzer targets, built only by scripts/fuzz.sh (NETC_FUZZ=1, `--sanitize fuzzer --sanitize address`):
// libFuzzer supplies `main`, so they would not link in an ordinary build.
if Context.environment["NETC_FUZZ"] != nil {
  for name in ["source", "safetensors", "npy", "plan", "runinput", "weights"] {
    package.targets.append(
      .executableTarget(name: "fuzz-\(name)", dependencies: ["NetcDriver", "NetcFormat", "NetcOps", "NetcSema", "NetcTensors", "NetcIR", "NetcBackends", "NetcGraph"],
                        path: "Fuzz/\(name)", swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
  }
}
