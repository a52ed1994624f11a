// Ctrl-C and resume for `bitlens quantize`: the work checks a Cancellation (SIGINT/SIGTERM) between
// steps, and each finished step (the sampled calibration text, each layer's candidate measurement,
// each quantized layer) is kept in "<output>.partial" (common/resume_store.h). A rerun with the
// same inputs and options takes the kept steps instead of redoing them, and gives the same output
// as an uninterrupted run; any change of inputs or options starts over. The folder is removed once
// the output is written.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/cancel.h"
#include "common/resume_store.h"
#include "model/packed_model.h"
#include "pipeline/layer_allocation.h"

namespace bitlens::cli {

// "<size> bytes, CRC-32 <hex>" of a file's contents.
std::string file_fingerprint(const std::string& path);

class QuantizeCheckpoint {
 public:
  // `output` empty: nothing is kept (Ctrl-C still stops the work). `job` names the inputs and
  // options completely. Prints a line to stdout when resuming.
  QuantizeCheckpoint(const std::string& output, const std::string& job, Cancellation& cancel);

  // Stops with CancelledError if Ctrl-C was pressed.
  void check(const std::string& doing) const { cancel_.check(doing); }
  std::string text(const std::string& name, const std::function<std::string()>& make);
  pipeline::LayerMeasurement measurement(const std::string& name, const std::function<pipeline::LayerMeasurement()>& measure);
  quant::PackedLinear linear(const std::string& name, const std::function<quant::PackedLinear()>& quantize);
  // The output is written: the kept steps are no longer needed.
  void finish();
  // The message of an interruption, with where the finished steps are kept.
  CancelledError interrupted(const CancelledError& e) const;

 private:
  template <class T>
  T step(const std::string& piece, const std::string& doing, const std::function<T()>& make,
         const std::function<std::vector<uint8_t>(const T&)>& to_bytes,
         const std::function<T(const std::vector<uint8_t>&, const std::string&)>& from_bytes);

  Cancellation& cancel_;
  std::optional<ResumeStore> store_;
};

}  // namespace bitlens::cli
