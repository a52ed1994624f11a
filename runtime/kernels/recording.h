// A command buffer recorded once and replayed many times (a forward pass for every position), with
// an optional timed mode that brackets each labelled op with timestamps and a barrier, for a
// per-kernel time breakdown.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/gpu.h"
#include "vk/commands.h"

namespace bitlens::kernels {

struct OpTime {
  uint64_t calls = 0;
  double ns = 0.0;
};

class Recording {
 public:
  // timed: up to max_ops ops get timestamps (needs device timestamps).
  Recording(Gpu& gpu, bool timed, uint32_t max_ops);

  vk::CommandBuffer& cmd() { return cmd_; }
  bool timed() const { return queries_ != nullptr; }

  // Records fn(cmd) as op `label`. In timed mode it sits between two timestamps and ends with a
  // barrier, so that ops do not overlap.
  template <class F>
  void op(const std::string& label, F&& fn) {
    begin_op(label);
    fn(cmd_);
    end_op();
  }
  // A barrier between dependent ops (implied in timed mode).
  void barrier();

  void submit_and_wait() { cmd_.submit_and_wait(); }
  // Adds the op times of the last submission to `totals`, by label.
  void add_times(std::map<std::string, OpTime>& totals) const;

 private:
  void begin_op(const std::string& label);
  void end_op();

  vk::CommandBuffer cmd_;
  std::unique_ptr<vk::QueryPool> queries_;
  uint32_t max_ops_;
  std::vector<std::string> labels_;
};

}  // namespace bitlens::kernels
