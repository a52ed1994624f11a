// The commands an inspector session accepts, and their one-line text form used by scripts
// ("select layers.0.wq", "bits layers.0.wq 2", "budget 2.5", ...).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "inspect/calibration.h"
#include "model/tokenizer.h"
#include "model/weights.h"
#include "pipeline/quantize_linear.h"

namespace bitlens::inspect {

// Open an in-memory model with its calibration statistics; with evaluation tokens (BOS first) the
// session evaluates every state against it, with a tokenizer it can also generate text.
struct OpenModel {
  std::shared_ptr<const model::Model> model;
  std::shared_ptr<const CalibrationSet> calibration;
  std::vector<uint32_t> eval_tokens;
  std::string eval_source;
  std::shared_ptr<const model::Tokenizer> tokenizer;
};
// Open a model file (llama2.c or GGUF) with its tokenizer; calibrate on the first calib_tokens
// tokens of one text file and evaluate on the first eval_tokens tokens of another.
struct OpenFiles {
  std::string model_path, tokenizer_path;
  std::string calibration_text, evaluation_text;
  uint32_t calib_tokens = 512, eval_tokens = 128;
};
struct SelectLayer {
  std::string layer;
};
// Change the quantization of one layer or of a group of layers (a pattern, layer_ref.h) as one
// edit; unset fields keep each layer's value.
struct SetLayer {
  std::string layer;
  std::optional<pipeline::Method> method;
  std::optional<uint32_t> bits;
  std::optional<uint32_t> group_size;
  std::optional<quant::RotationMode> rotation;
};
// Re-run the bit allocation for a budget in bits per weight over the block linears.
struct SetBudget {
  double bpw = 0;
};
struct Undo {};
// Generate greedily from a prompt with the fp32 and the quantized model.
struct Generate {
  std::string prompt;
  uint32_t max_tokens = 40;
};
struct SaveRecipe {
  std::string path;
};
// Write the quantized model as a container (.blq): block linears as chosen, the rest fp32.
struct SaveModel {
  std::string path;
};

using Command = std::variant<OpenModel, OpenFiles, SelectLayer, SetLayer, SetBudget, Undo, Generate, SaveRecipe, SaveModel>;

// Parses one script line:
//   select LAYER | bits LAYERS N | method LAYERS NAME | group LAYERS N | rotate LAYERS none|input|both |
//   budget BPW | undo | generate PROMPT... | save-recipe PATH | save-model PATH |
//   open MODEL TOKENIZER CALIBRATION_TEXT EVALUATION_TEXT
// Throws Error with the accepted forms when the line is not one of them.
Command parse_command(std::string_view line);

// Short text of a command for logs and messages.
std::string describe(const Command& c);

}  // namespace bitlens::inspect
