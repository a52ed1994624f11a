// Scripts that drive the inspector without a person (tests, screenshots for the docs): one command
// per line, run one per frame. Besides the session's commands (inspect/command.h) a script may say
//   wait              until the session is idle (every queued command and background job done)
//   frames N          render N frames
//   screenshot FILE   capture the next settled frame to FILE (PNG) and its panel rectangles to
//                     FILE.panels.json
//   panels DIR        capture the next settled frame cut into one PNG per panel, in DIR
//   state FILE        write the session's snapshot as JSON (inspect/recipe.h snapshot_json)
//   scope NAME        the weight histogram's scope: tensor, row, column or group
//   focus ROW COL     the element the histogram's row, column or group is taken around
//   quit              leave the app
// Blank lines and lines starting with # are skipped. Every line is parsed when the script is
// loaded, so a typo is reported with its line number before anything runs.
#pragma once

#include <string>
#include <vector>

#include "inspect/command.h"

namespace bitlens::gui {

struct ScriptStep {
  enum class Kind { Command, Wait, Frames, Screenshot, Panels, State, Scope, Focus, Quit } kind = Kind::Command;
  inspect::Command command;  // Kind::Command
  std::string path;          // Screenshot, Panels, State
  int frames = 0;            // Frames
  int scope = 0;             // Scope: an inspect::Scope
  uint32_t row = 0, col = 0; // Focus
  int line = 0;              // 1-based line in the file
  std::string text;          // the line itself
};

// Throws FileError naming the file and line when a line is not a valid step.
std::vector<ScriptStep> load_script(const std::string& path);
std::vector<ScriptStep> parse_script(const std::string& text, const std::string& name);

}  // namespace bitlens::gui
