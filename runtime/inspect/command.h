// The commands an inspector session accepts, and their one-line text form used by scripts
// ("select blk.0.wq", "bits blk.0.wq 2", "budget 2.5", ...).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "inspect/calibration.h"
#include "model/weights.h"
#include "quant/format.h"

namespace bitlens::inspect {

// Open an in-memory model with its calibration inputs.
struct OpenModel {
  std::shared_ptr<const model::Model> model;
  std::shared_ptr<const CalibrationSet> calibration;
};
struct SelectLayer {
  std::string layer;
};
// Change one layer's quantization; unset fields keep their value.
struct SetLayer {
  std::string layer;
  std::optional<quant::Format> format;
  std::optional<uint32_t> group_size;
  std::optional<bool> rotate;
};
// Re-run the bit allocation for a budget in bits per weight over the block linears.
struct SetBudget {
  double bpw = 0;
};
struct Undo {};
struct SaveRecipe {
  std::string path;
};

using Command = std::variant<OpenModel, SelectLayer, SetLayer, SetBudget, Undo, SaveRecipe>;

// Parses one script line:
//   select LAYER | bits LAYER N | format LAYER NAME | group LAYER N | rotate LAYER on|off |
//   budget BPW | undo | save-recipe PATH
// Throws Error with the accepted forms when the line is not one of them.
Command parse_command(std::string_view line);

// Short text of a command for logs and messages.
std::string describe(const Command& c);

}  // namespace bitlens::inspect
