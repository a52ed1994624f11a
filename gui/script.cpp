// Script parsing.
#include "script.h"

#include <charconv>

#include "common/error.h"
#include "common/file_io.h"

namespace bitlens::gui {

namespace {

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

ScriptStep parse_line(const std::string& line) {
  ScriptStep step;
  const size_t space = line.find(' ');
  const std::string verb = line.substr(0, space);
  const std::string arg = space == std::string::npos ? std::string() : trim(line.substr(space + 1));
  auto need_arg = [&](bool want) {
    if (want == arg.empty()) throw Error(want ? verb + " needs an argument" : verb + " takes no argument");
  };
  if (verb == "wait") {
    need_arg(false);
    step.kind = ScriptStep::Kind::Wait;
  } else if (verb == "quit") {
    need_arg(false);
    step.kind = ScriptStep::Kind::Quit;
  } else if (verb == "frames") {
    need_arg(true);
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), step.frames);
    if (ec != std::errc() || end != arg.data() + arg.size() || step.frames < 1 || step.frames > 100000)
      throw Error("frames needs a count from 1 to 100000, not '" + arg + "'");
    step.kind = ScriptStep::Kind::Frames;
  } else if (verb == "scope") {
    need_arg(true);
    const char* names[] = {"tensor", "row", "column", "group"};
    step.scope = -1;
    for (int i = 0; i < 4; ++i)
      if (arg == names[i]) step.scope = i;
    if (step.scope < 0) throw Error("scope is tensor, row, column or group, not '" + arg + "'");
    step.kind = ScriptStep::Kind::Scope;
  } else if (verb == "focus") {
    need_arg(true);
    const size_t sp = arg.find(' ');
    auto num = [&](const std::string& t, uint32_t& out) {
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
      if (ec != std::errc() || end != t.data() + t.size()) throw Error("focus takes ROW COL, not '" + arg + "'");
    };
    if (sp == std::string::npos) throw Error("focus takes ROW COL, not '" + arg + "'");
    num(arg.substr(0, sp), step.row);
    num(trim(arg.substr(sp + 1)), step.col);
    step.kind = ScriptStep::Kind::Focus;
  } else if (verb == "state") {
    need_arg(true);
    step.kind = ScriptStep::Kind::State;
    step.path = arg;
  } else if (verb == "screenshot" || verb == "panels") {
    need_arg(true);
    step.kind = verb == "screenshot" ? ScriptStep::Kind::Screenshot : ScriptStep::Kind::Panels;
    step.path = arg;
  } else {
    step.command = inspect::parse_command(line);
  }
  return step;
}

}  // namespace

std::vector<ScriptStep> parse_script(const std::string& text, const std::string& name) {
  std::vector<ScriptStep> steps;
  size_t pos = 0;
  for (int n = 1; pos <= text.size(); ++n) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    const std::string line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    try {
      ScriptStep step = parse_line(line);
      step.line = n;
      step.text = line;
      steps.push_back(std::move(step));
    } catch (const Error& e) {
      throw FileError(name, "line " + std::to_string(n) + ": " + e.what());
    }
  }
  return steps;
}

std::vector<ScriptStep> load_script(const std::string& path) { return parse_script(read_text_file(path), path); }

}  // namespace bitlens::gui
