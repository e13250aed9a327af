import Foundation
import NetcDriver

exit(Driver.main(CommandLine.arguments))
