/// Every layer of the language. A new family registers its layers here, in one line; every stage, the
/// parser's keywords and the editors' grammar (checked by a test) follow from this list.
public enum OperationRegistry {
  /// Every layer, in the order of Grammar.md's table.
  public static let layers: [LayerSpec] =
    ConvLayers.specs + PoolLayers.specs + DenseLayers.specs + NormLayers.specs + Activations.layers
    + PointwiseLayers.specs + ChannelLayers.specs + CropLayers.specs

  public static let byKeyword: [String: LayerSpec] = {
    var table: [String: LayerSpec] = [:]
    for spec in layers { table[spec.keyword] = spec }
    return table
  }()

  public static let keywords: Set<String> = Set(layers.map(\.keyword))
}
