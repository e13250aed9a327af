// swift-tools-version:6.0
// An app that classifies an image with a network written in netc's language: the NetcPlugin build plugin
// compiles Sources/ImageClassifier/TinyResNet.net into Swift at build time, and the target links the
// NetcKernels library that Swift calls. An app elsewhere depends on netc by version instead of by path:
//   .package(url: "https://.../netc.git", from: "0.1.0")
import PackageDescription

let package = Package(
  name: "ImageClassifier",
  // Named: a path dependency is otherwise known by its folder's name, which a checkout may choose.
  dependencies: [.package(name: "netc", path: "../..")],
  targets: [
    .executableTarget(
      name: "ImageClassifier",
      dependencies: [.product(name: "NetcKernels", package: "netc")],
      plugins: [.plugin(name: "NetcPlugin", package: "netc")]),
  ]
)
