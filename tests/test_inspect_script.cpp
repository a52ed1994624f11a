// The inspector app's script language: every step parses, and bad lines are refused with the file
// and line named before anything runs.
#include <gtest/gtest.h>

#include "common/error.h"

#ifdef BITLENS_INSPECT
#include "script.h"

using namespace bitlens;
using namespace bitlens::gui;

TEST(InspectorScript, ParsesEveryStep) {
  const auto steps = parse_script(
      "# a comment\n"
      "\n"
      "select layers.0.wq\n"
      "  bits layers.0.wq 2  \n"
      "wait\n"
      "frames 3\n"
      "screenshot out/a b.png\n"
      "panels docs/x\n"
      "state s.json\n"
      "scope group\n"
      "focus 12 40\n"
      "budget 2.5\n"
      "generate Once upon a time\n"
      "quit",
      "s.txt");
  ASSERT_EQ(steps.size(), 12u);
  EXPECT_EQ(steps[0].kind, ScriptStep::Kind::Command);
  EXPECT_EQ(std::get<inspect::SelectLayer>(steps[0].command).layer, "layers.0.wq");
  EXPECT_EQ(steps[0].line, 3);
  EXPECT_EQ(steps[1].text, "bits layers.0.wq 2");
  EXPECT_EQ(steps[2].kind, ScriptStep::Kind::Wait);
  EXPECT_EQ(steps[3].frames, 3);
  EXPECT_EQ(steps[4].kind, ScriptStep::Kind::Screenshot);
  EXPECT_EQ(steps[4].path, "out/a b.png");
  EXPECT_EQ(steps[5].kind, ScriptStep::Kind::Panels);
  EXPECT_EQ(steps[6].kind, ScriptStep::Kind::State);
  EXPECT_EQ(steps[7].scope, 3);
  EXPECT_EQ(steps[8].row, 12u);
  EXPECT_EQ(steps[8].col, 40u);
  EXPECT_EQ(std::get<inspect::Generate>(steps[10].command).prompt, "Once upon a time");
  EXPECT_EQ(steps[11].kind, ScriptStep::Kind::Quit);
}

TEST(InspectorScript, BadLinesNameTheFileAndLine) {
  const std::pair<const char*, const char*> bad[] = {
      {"wait\nfly away\n", "s.txt: line 2: unknown command 'fly'"},
      {"frames 0", "s.txt: line 1: frames needs a count"},
      {"frames", "s.txt: line 1: frames needs an argument"},
      {"wait now", "s.txt: line 1: wait takes no argument"},
      {"scope everything", "s.txt: line 1: scope is tensor, row, column or group"},
      {"focus 3", "s.txt: line 1: focus takes ROW COL"},
      {"\n\nbits method layers.0.wq q7", "s.txt: line 3: "},
  };
  for (const auto& [text, want] : bad) {
    try {
      parse_script(text, "s.txt");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const FileError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(want, 0), 0u) << e.what();
    }
  }
  EXPECT_THROW(load_script("/nonexistent/script.txt"), FileError);
}

#endif
