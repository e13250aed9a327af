// swift-tools-version:6.0
import PackageDescription

// One target per compiler stage; a stage imports only the stages before it:
// NetcBasic <- NetcSyntax <- NetcSema <- {NetcReport, NetcIR} <- NetcDriver <- netc
let package = Package(
  name: "netc",
  products: [
    .executable(name: "netc", targets: ["netc"]),
    .library(name: "NetcDriver", targets: ["NetcDriver"]),
  ],
  targets: [
    .target(name: "NetcBasic"),
    .target(name: "NetcSyntax", dependencies: ["NetcBasic"]),
    .target(name: "NetcSema", dependencies: ["NetcBasic", "NetcSyntax"]),
    .target(name: "NetcReport", dependencies: ["NetcBasic", "NetcSema"]),
    .target(name: "NetcIR", dependencies: ["NetcBasic", "NetcSema"]),
    .target(name: "NetcRuntime", dependencies: ["NetcBasic", "NetcSema", "NetcIR"],
            swiftSettings: [.unsafeFlags(["-Ounchecked", "-target-cpu", "native"]), .swiftLanguageMode(.v5)]),
    .target(name: "NetcBackends", dependencies: ["NetcBasic", "NetcSema", "NetcIR", "NetcRuntime"]),
    .target(name: "NetcDriver",
            dependencies: ["NetcBasic", "NetcSyntax", "NetcSema", "NetcReport", "NetcIR", "NetcRuntime", "NetcBackends"]),
    .executableTarget(name: "netc", dependencies: ["NetcDriver"]),
    .testTarget(
      name: "NetcTests",
      dependencies: ["NetcBasic", "NetcSyntax", "NetcSema", "NetcReport", "NetcIR", "NetcRuntime", "NetcBackends", "NetcDriver", "netc"],
      exclude: ["Inputs", "Snapshots"]
    ),
  ]
)
