/// Help texts, in the layout of swift-argument-parser.
enum Help {
  static let version = "netc 0.1.0"

  static let overview = """
    OVERVIEW: netc compiles descriptions of convolutional networks: it checks every shape with PyTorch's
    rules and counts parameters, multiply-adds and memory.

    USAGE: netc <command> [<options>] <file> ...

    COMMANDS:
      check                   Check .net files and print each one's output shape and size.
      params                  Print a layer table: output shapes, parameters, mult-adds, memory.
      plan                    Print the lowered graph and its static buffer plan.
      emit                    Write the network as Swift source, a PyTorch module or a plan file.
      init                    Write He-initialised weights for a network (safetensors).
      run                     Run a network with netc's interpreter.
      help <command>          Show help for a command.

    OPTIONS:
      --version               Show the version.
      -h, --help              Show help information.

    EXAMPLES:
      netc check specs/*.net
      netc params specs/vgg16.net
      netc params specs/resnet50.net --format torchinfo --depth 2

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
      --depth <n>             For torchinfo: how many levels of blocks to show (default: 3).
    \(common)

    The default table is byte for byte what torchsummary prints for the same PyTorch model. Blocks
    print one row after their contents, as PyTorch modules do; functional layers such as 'relu()'
    print none.

    """

  static let plan = """
    OVERVIEW: Print the network as netc runs it: the lowered graph and its static buffer plan.

    USAGE: netc plan [<options>] <file>

    ARGUMENTS:
      <file>                  A network description (.net).

    OPTIONS:
    \(common)

    Lowering folds batch norm into the convolution or linear layer before it, fuses activations and
    residual additions into the layer that produces their input, drops dropout, makes flatten a view and
    lets the branches of a concatenation write straight into their slice of its output. Buffers are
    planned by liveness: one arena, reused as soon as a value is dead. Each line shows a value, its
    operation, its inputs, its shape, its place in the arena and the weights it reads.

    """

  static let initHelp = """
    OVERVIEW: Write He-initialised weights for a network, deterministic for a seed.

    USAGE: netc init [<options>] <spec> -o <file.safetensors>

    OPTIONS:
      -o <file>               The safetensors file to write (written whole or not at all).
      --seed <n>              Random seed (default: 0).
      --dtype <dtype>         f32 (default), f16 or bf16.
    \(common)

    Convolution and linear weights are drawn from N(0, 2/fan_in) (He et al., as the VGG material
    prescribes), biases are zero; batch norm starts at weight 1, bias 0, mean 0, variance 1. Tensors are
    named as README.md describes (conv1.weight, bn2.running_mean, ...).

    """

  static let runHelp = """
    OVERVIEW: Run a network with netc's interpreter.

    USAGE: netc run [<options>] <spec> --weights <file.safetensors> --input <file.npy|random> [-o <out.npy>]

    OPTIONS:
      --weights <file>        Weights in safetensors (f32, f16 or bf16), with netc's tensor names.
      --input <file|random>   An .npy tensor of shape [N, C, H, W] (or [C, H, W]), or 'random'.
      --seed <n>              Seed for '--input random' (default: 0).
      -o <file>               Write the output as .npy; without it, print the output shape and, for a
                              classifier, the five most likely classes.
      --memory-limit <MiB>    Refuse to allocate more activation memory than this (default: 16384).
      --serve                 For benchmarks: after the run, print 'ready', then run once more for each
                              line read from standard input and print that run's time in milliseconds.
      --profile               Print each node's time (median of 5 runs) to standard error, slowest first.
    \(common)

    """

  static let emitHelp = """
    OVERVIEW: Write the network for use outside netc.

    USAGE: netc emit --target <target> [<options>] <spec> -o <file>

    OPTIONS:
      --target <target>       swift: one self-contained Swift file (Foundation and Dispatch only) with a
                              type named after the network that loads weights and runs batches;
                              pytorch: a readable nn.Module whose state_dict keys are netc's tensor names;
                              plan: the lowered graph and buffer plan, for 'netc run'.
      -o <file>               The file to write (written whole or not at all).
    \(common)

    """

  static func text(for command: String) -> String? {
    switch command {
    case "check": return check
    case "params": return params
    case "plan": return plan
    case "init": return initHelp
    case "run": return runHelp
    case "emit": return emitHelp
    case "help": return overview
    default: return nil
    }
  }
}
