/// Help texts, in the layout of swift-argument-parser.
enum Help {
  static let versionNumber = "0.1.0"
  static let version = "netc \(versionNumber)"

  static let overview = """
    OVERVIEW: netc compiles descriptions of convolutional networks: it checks every shape with PyTorch's
    rules and counts parameters, multiply-adds and memory.

    USAGE: netc <command> [<options>] <file> ...

    COMMANDS:
      check                   Check .net files and print each one's output shape and size.
      params                  Print a layer table: output shapes, parameters, mult-adds, memory.
      plan                    Print the lowered graph and its static buffer plan.
      graph                   Draw the network as a diagram: SVG, Graphviz DOT or Mermaid.
      emit                    Write the network as Swift source, a PyTorch module, a plan file or ONNX.
      init                    Write He-initialised weights for a network (safetensors).
      run                     Run a network with netc's interpreter.
      weights                 Make weight files: 'weights import' renames a PyTorch state_dict to netc's
                              tensor names, 'weights init' is 'init'.
      fmt                     Print .net files in canonical layout, or rewrite them (-i).
      lsp                     Serve the Language Server Protocol on stdin and stdout, for editors.
      help <command>          Show help for a command.

    OPTIONS:
      --version               Show the version.
      -h, --help              Show help information.

    EXAMPLES:
      netc check specs/*/*.net
      netc params specs/vgg/vgg16.net
      netc params specs/resnet/resnet50.net --format torchinfo --depth 2
      netc fmt -i specs/*/*.net
      netc graph specs/resnet/resnet50.net -o resnet50.svg

    """

  static let common = """
      --batch <n>             Batch size (default: 1).
      --color <when>          Colour diagnostics: auto, always or never (default: auto, only on a terminal).
      --diagnostics-format <format>
                              Diagnostics as text or json (one JSON object per line on stderr).
      --time-stages           Print the time each compiler stage took, on stderr.
      -h, --help              Show help information.
    """

  static let check = """
    OVERVIEW: Check .net files: parse them, infer every layer's shape, and report mistakes.

    USAGE: netc check [<options>] <file> ...

    ARGUMENTS:
      <file>                  A network description (.net). Several may be given.

    OPTIONS:
      --format <format>       text or json (default: text).
    \(common)

    Prints one line per file: its output shape, parameter count and multiply-adds. Diagnostics go to
    stderr. Exit status: 0 if every file checks, 1 if any has an error, 2 on a usage error.

    """

  static let params = """
    OVERVIEW: Print a network's layer table: output shapes, parameters, multiply-adds and memory.

    USAGE: netc params [<options>] <file>

    ARGUMENTS:
      <file>                  A network description (.net).

    OPTIONS:
      --format <format>       torchsummary (default), torchinfo, json or markdown.
      --dtype <dtype>         Element type for the memory figures: f32 (default), f16 or bf16.
      --depth <n>             For torchinfo (and markdown with --columns): how many levels of blocks
                              to show (default: 3). The other formats list every layer and warn.
      --columns <list>        For torchinfo and markdown: the columns, torchinfo's col_names
                              (input_size, output_size, num_params, params_percent, kernel_size,
                              mult_adds, trainable) and receptive_field, effective_stride,
                              effective_padding; the table is then torchinfo's own, byte for byte.
    \(common)

    The default table is byte for byte what torchsummary prints for the same PyTorch model. Blocks
    print one row after their contents, as PyTorch modules do; functional layers such as 'relu()'
    print none. The torchinfo and json formats add each row's receptive field, effective stride and
    effective padding (torchscan's definitions, per axis); torchinfo, json and markdown also print the
    peak live activation memory of netc's buffer plan beside torchsummary's forward/backward figure.

    """

  static let plan = """
    OVERVIEW: Print the network as netc runs it: the lowered graph and its static buffer plan.

    USAGE: netc plan [<options>] <file>

    ARGUMENTS:
      <file>                  A network description (.net).

    OPTIONS:
    \(common)

    Lowering folds batch norm into the convolution or linear layer before it, fuses activations and
    residual additions into the layer that produces their input, drops dropout and stochastic depth,
    makes flatten and permutations views and lets the branches of a concatenation write straight into
    their slice of its output. Buffers are
    planned by liveness: one arena, reused as soon as a value is dead. Each line shows a value, its
    operation, its inputs, its shape, its place in the arena and the weights it reads.

    """

  static let graph = """
    OVERVIEW: Draw a network as the papers draw it: one box per layer, top to bottom.

    USAGE: netc graph [<options>] <file> [-o <out>]

    ARGUMENTS:
      <file>                  A network description (.net).

    OPTIONS:
      --format <format>       svg (default), dot (Graphviz) or mermaid.
      --depth <n>             Draw blocks nested deeper than n as one box (default: 64, every level; 0
                              draws every block as one box).
      -o <file>               The file to write (written whole or not at all); without it, print to stdout.
    \(common)

    Each box shows a layer as a spec writes it (kind, kernel, channels, stride, padding) and its output
    shape. The branches of an inception stand side by side and join in a 'concat'; a residual shortcut
    runs around its body into the '+' that adds them; a named block is a dashed frame with its name and
    arguments. Consecutive blocks that repeat one element ('x N') or are identical, layer for layer, are
    drawn once, as a stack marked 'xN'. netc writes the SVG itself, with every size computed: no Graphviz
    is needed. A spec with errors is drawn up to the first one, the failing element marked in red; its
    diagnostics go to stderr and the exit status is 1.

    """

  static let initHelp = """
    OVERVIEW: Write He-initialised weights for a network, deterministic for a seed.

    USAGE: netc init [<options>] <spec> -o <file.safetensors>

    OPTIONS:
      -o <file>               The safetensors file to write (written whole or not at all); '-' for stdout.
      --seed <n>              Random seed (default: 0).
      --dtype <dtype>         f32 (default), f16 or bf16.
    \(common)

    Convolution and linear weights are drawn from N(0, 2/fan_in) (He et al., as the VGG material
    prescribes), biases are zero; batch norm starts at weight 1, bias 0, mean 0, variance 1. Tensors are
    named as README.md describes (conv1.weight, bn2.running_mean, ...).

    """

  static let weights = """
    OVERVIEW: Make weight files: safetensors with netc's tensor names (conv1.weight, bn2.running_mean, ...).

    USAGE: netc weights <subcommand> [<options>] ...

    SUBCOMMANDS:
      import                  Rename a PyTorch state_dict's tensors to netc's names for a spec, so that
                              'netc run' and the other targets use the model's own weights.
      init                    Write He-initialised weights for a spec: the same as 'netc init'.

    EXAMPLES:
      netc weights import resnet50.safetensors --spec specs/resnet/resnet50.net -o r50.safetensors
      netc weights init specs/resnet/resnet18.net --seed 1 -o r18.safetensors

    See 'netc help weights import' and 'netc help init'.

    """

  static let weightsImport = """
    OVERVIEW: Rename a PyTorch state_dict's tensors to netc's tensor names for a spec.

    USAGE: netc weights import [<options>] <state_dict.safetensors> --spec <spec> -o <file.safetensors>

    ARGUMENTS:
      <state_dict.safetensors>
                              A model's state_dict as PyTorch saves it:
                              safetensors.torch.save_file(model.state_dict(), path). F32, F16, BF16 or F64.

    OPTIONS:
      --spec <spec>           The network the model is (.net): its layers must be the model's, in the
                              order the model runs them.
      -o <file>               The safetensors file to write (written whole or not at all); '-' for stdout.
      --dtype <dtype>         f32 (default), f16 or bf16.
      --map                   Print the pairing on stdout: each netc tensor, its shape and its PyTorch key.
      --format <format>       text (default) or json: with json, the pairing is printed as JSON (name, key,
                              shape and dtype of each tensor, and the ignored tensors). Without '-o', '--map'
                              and '--format json' only print the pairing.
      --verbose               Say which integer tensors were ignored (batch norm's 'num_batches_tracked')
                              and how the tensors were paired.
    \(common)

    A safetensors file keeps no order, so the tensors are paired by structure. A key's prefix before the last
    dot is its module ('layer1.0.conv1'); the modules form a tree, and each module's layers run one after
    another. netc arranges the children of every module so that, read depth first, the modules' tensors
    are the spec's layers' tensors in execution order, name for name ('weight', 'bias', 'running_mean',
    'running_var', 'layer_scale') and shape for shape. Where several orders fit, it takes the earliest in the
    natural order of the names, numbers compared as numbers ('layer1.2' before 'layer1.10'). A file that
    already has netc's names is taken as it is. If no arrangement fits, the layers are paired one by one,
    each with the nearest module of its shapes, and every layer or tensor that fits nothing is reported at its
    layer in the spec, with the nearest module of the file. Integer tensors are ignored.

    Exit status: 0 on success, 1 if the spec has errors or the file does not fit it, 2 on a usage error.

    """

  static let runHelp = """
    OVERVIEW: Run a network with netc's interpreter.

    USAGE: netc run [<options>] <spec> --weights <file.safetensors> --input <file.npy|random> [-o <out.npy>]

    OPTIONS:
      --weights <file>        Weights in safetensors (f32, f16 or bf16), with netc's tensor names.
      --input <file|random>   An .npy tensor of shape [N, C, H, W] (or [C, H, W]: one item), or 'random'.
                              With a file, '--batch' may be left out; given, it must be the file's N.
      --seed <n>              Seed for '--input random' (default: 0).
      -o <file>               Write the output as .npy ('-' for stdout); without it, print the output
                              shape and, for a classifier, the five most likely classes (with a
                              softmax applied for display, and said so, when the network ends without
                              one).
      --output-index <k>      The output '-o' writes: 0, the default, is the network's main output;
                              1, 2, ... its side outputs ('side<...>'), in the order of the spec.
      --memory-limit <MiB>    Refuse a run whose activations, input and '-o' output need more memory
                              than this, before allocating any of it (default: 16384).
      --serve                 For benchmarks: after the run, print 'ready', then run once more for each
                              line read from standard input and print that run's time in milliseconds.
      --profile               Print each node's time (median of 5 runs) to standard error, slowest first.
      --verbose               Say which tensors of the weight file are ignored: integer buffers such as
                              batch norm's 'num_batches_tracked', which a saved state_dict holds.
    \(common)

    """

  static let emitHelp = """
    OVERVIEW: Write the network for use outside netc.

    USAGE: netc emit --target <target> [<options>] <spec> -o <file>

    OPTIONS:
      --target <target>       swift: a Swift file with a type named after the network that loads
                              weights and runs batches, calling netc's library NetcKernels (README.md,
                              "Running a network");
                              pytorch: a readable nn.Module whose state_dict keys are netc's tensor names;
                              plan: the lowered graph and buffer plan, for 'netc run';
                              onnx: an ONNX model (opset 18) with the weights inside, for ONNX Runtime,
                              Netron and other ONNX tools; a model that would pass protobuf's 2 GiB has
                              them in '<file>.data' beside it instead (see below).
      --weights <file>        For onnx: the weights to put in the model (safetensors, f32, f16 or bf16,
                              stored as f32). Without it, the model holds the weights 'netc init' writes
                              with its default seed 0 (He initialisation).
      --verbose               For onnx with '--weights': say which of its tensors are ignored (integer
                              buffers such as 'num_batches_tracked').
      --external-data         For onnx: put every weight tensor of 1,024 bytes or more in '<file>.data'
                              beside the model (ONNX's external data), whatever the model's size.
      --self-contained        For swift: one file that builds on its own (Foundation, Dispatch and
                              Synchronization only), with NetcKernels' sources after the network
                              instead of 'import NetcKernels'.
      --name <name>           For swift and pytorch: the class's name (default: the network's). Any
                              number of networks emitted for the library build together in one module;
                              two networks of the same name need a name each.
      -o <file>               The file to write (written whole or not at all); '-' for stdout, except
                              for a model with external data.
    \(common)

    The ONNX model's input is 'input' ([N, C, H, W], the batch size N symbolic), its output 'output'
    (side outputs follow as 'output_1', ...). Its initializers carry netc's tensor names (conv1.weight,
    bn2.running_mean, ...); batch norm is a BatchNormalization node with its running statistics, not
    folded. Adaptive pooling exports when its windows are those of a plain pool (the output size divides
    the input size, or is 1x1); otherwise netc says which layer cannot be exported.

    External data: a model is one protobuf message, which cannot reach 2 GiB. When the model with its
    weights inside would (RegNetY-128GF's 2.6 GB), or with '--external-data', netc writes the weight
    tensors of 1,024 bytes or more to '<file>.data' (with '-o resnet.onnx', 'resnet.onnx.data'), each at
    an offset that is a multiple of 4096, and the model names that file, the offset and the length, as
    onnx.save_model(save_as_external_data=True) and torch.onnx.export do; a note on stderr says when netc
    chose it. Keep the two files side by side. Both are written whole before either replaces an old one,
    the model last; standard output cannot carry the pair.

    """

  static let fmt = """
    OVERVIEW: Print .net files in canonical layout, or rewrite them in place.

    USAGE: netc fmt [<options>] <file> ...

    ARGUMENTS:
      <file>                  A network description (.net). Without -i or --check, exactly one.

    OPTIONS:
      -i                      Rewrite each file in place (written whole or not at all; a file already
                              formatted is not touched).
      --check                 Change nothing: report each file that is not formatted, at its first
                              difference, and exit 1 if there is one.
      --color <when>          Colour diagnostics: auto, always or never (default: auto, only on a terminal).
      --diagnostics-format <format>
                              Diagnostics as text or json (one JSON object per line on stderr).
      -h, --help              Show help information.

    Without -i or --check, prints the file in canonical layout on stdout: two spaces of indentation per
    level, one line of layers per line of the source, single spaces between arguments, '< a | b >' on one
    line or '|' at the start of each branch, at most one blank line, '-> shape' and trailing comments in
    aligned columns (Grammar.md, "Canonical layout"). Comments are kept. Formatting twice changes nothing.
    A file with syntax errors is not formatted: its diagnostics go to stderr. Exit status: 0 on success,
    1 if a file has syntax errors, cannot be read or (with --check) is not formatted, 2 on a usage error.

    """

  static let lsp = """
    OVERVIEW: Serve the Language Server Protocol on stdin and stdout, for editors.

    USAGE: netc lsp [--stdio]

    OPTIONS:
      --stdio                 Talk over stdin and stdout (what it does anyway; language clients pass it).
      -h, --help              Show help information.

    An editor starts 'netc lsp' and talks JSON-RPC to it (Content-Length framing). Each open .net file is
    checked on every change: diagnostics (those 'netc check' prints, fix-its as quick fixes), hover with a
    layer line's shapes, parameters, mult-adds and receptive field, inlay hints with output shapes, go to
    definition and references of blocks and named tensors, completion, document symbols and formatting
    ('netc fmt'). Messages about the protocol itself go to stderr. Exit status: 0 after 'shutdown' and
    'exit', 1 if the input ends or 'exit' comes without 'shutdown', 2 on a usage error.

    """

  static func text(for command: String) -> String? {
    switch command {
    case "check": return check
    case "params": return params
    case "plan": return plan
    case "graph": return graph
    case "init": return initHelp
    case "run": return runHelp
    case "emit": return emitHelp
    case "fmt": return fmt
    case "lsp": return lsp
    case "weights": return weights
    case "weights import": return weightsImport
    case "weights init": return initHelp
    case "help": return overview
    default: return nil
    }
  }
}
