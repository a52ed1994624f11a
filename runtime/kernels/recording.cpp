// Timestamps around recorded ops and their per-label totals.
#include "kernels/recording.h"

#include "common/error.h"

namespace bitlens::kernels {

Recording::Recording(Gpu& gpu, bool timed, uint32_t max_ops) : cmd_(gpu.ctx()), max_ops_(max_ops) {
  if (!timed) return;
  queries_ = std::make_unique<vk::QueryPool>(gpu.ctx(), 2 * max_ops);
  cmd_.reset_queries(*queries_, 0, 2 * max_ops);
}

void Recording::barrier() {
  if (!queries_) cmd_.barrier();
}

void Recording::begin_op(const std::string& label) {
  if (!queries_) return;
  if (labels_.size() == max_ops_) throw Error("timed recording: more than " + std::to_string(max_ops_) + " ops");
  cmd_.timestamp(*queries_, uint32_t(2 * labels_.size()));
  labels_.push_back(label);
}

void Recording::end_op() {
  if (!queries_) return;
  cmd_.barrier();
  cmd_.timestamp(*queries_, uint32_t(2 * labels_.size() - 1));
}

void Recording::add_times(std::map<std::string, OpTime>& totals) const {
  if (!queries_ || labels_.empty()) return;
  const std::vector<double> ns = queries_->read_ns(uint32_t(2 * labels_.size()));
  for (size_t i = 0; i < labels_.size(); ++i) {
    OpTime& t = totals[labels_[i]];
    t.calls += 1;
    t.ns += ns[2 * i + 1] - ns[2 * i];
  }
}

}  // namespace bitlens::kernels
