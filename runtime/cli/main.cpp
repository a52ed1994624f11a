// The `bitlens` command line: one subcommand per file (run, eval, convert, quantize). Every error ends as
// one line "bitlens: <message>" and a non-zero exit status.
#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) {
  CLI::App app{"bitlens: ultra-low-bit LLaMA quantization, Vulkan inference and an inspector", "bitlens"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show the help of every command");
  bitlens::cli::add_run_command(app);
  bitlens::cli::add_eval_command(app);
  bitlens::cli::add_convert_command(app);
  bitlens::cli::add_quantize_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "bitlens: " << e.what() << " (see bitlens --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cout << std::flush;
    std::cerr << "bitlens: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
