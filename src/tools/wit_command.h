// `arcella wit [--packages] FILE.wasm`: prints the WIT world of a component
// binary (component/wit_print.h), as `jco wit` does; --packages also prints
// the interfaces named by `ns:pkg/iface` imports and exports, grouped in
// `package ... { interface ... }` blocks.
// Exit status: 0 printed; 1 the file cannot be read, is not a component (a
// core module is refused with a hint), does not decode, or has no WIT form;
// 2 usage errors. Messages go to stderr, the WIT to stdout.
#pragma once

namespace arcella::tools {

int WitCommand(int argc, char** argv);  // argv[0] is "wit"

}  // namespace arcella::tools
