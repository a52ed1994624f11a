// Limits before allocation: what a file declares may not make bitlens allocate more than the file
// and the work asked for justify. The CPU forward pass sizes its caches by the positions it runs,
// not by the context length in the file; JSON from files is bounded in size and nesting. (Each
// parser's refusal of counts its file cannot hold is tested with the parser.)
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <span>

#include "common/json_input.h"
#include "model/cpu_forward.h"
#include "model_fixtures.h"

using namespace bitlens;

namespace {

// Bytes the C heap holds now (under AddressSanitizer, which has its own heap, this stays small and
// the comparisons below hold trivially).
size_t heap_bytes() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

}  // namespace

TEST(Limits, ForwardCachesFollowThePositionsUsed) {
  // A context of 2^20 positions, as a hostile file may declare: the old up-front caches would
  // have been 2 x 2 layers x 2^20 x 64 floats (1 GiB) for a model of 100 KiB.
  model::ModelConfig huge = test::small_config();
  huge.seq_len = 1u << 20;
  model::ModelConfig normal = huge;
  normal.seq_len = 48;
  const model::Model m = test::synthetic_model(normal, 17);
  model::Model declared = m;
  declared.config = huge;
  const std::vector<uint32_t> tokens = {1, 5, 9, 13, 40, 2, 77};

  const size_t before = heap_bytes();
  model::CpuForward f(declared);
  const std::span<const float> out = f.prefill(tokens, 0, true);
  const std::vector<float> logits(out.begin(), out.end());
  EXPECT_LT(heap_bytes() - std::min(before, heap_bytes()), size_t(16) << 20);

  // The declared context changes nothing but the limit: same logits as the model with 48.
  model::CpuForward reference(m);
  const auto expected = reference.prefill(tokens, 0, true);
  ASSERT_EQ(logits.size(), expected.size());
  for (size_t i = 0; i < logits.size(); ++i) ASSERT_EQ(logits[i], expected[i]) << i;

  // Growing the caches keeps the positions already cached: one position at a time up to 100 (the
  // caches grow at 64) equals all 100 at once (same ops in the same order: identical).
  model::CpuForward stepwise(declared), batched(declared);
  std::vector<uint32_t> long_tokens(100);
  for (size_t i = 0; i < long_tokens.size(); ++i) long_tokens[i] = uint32_t(i * 7 % 96);
  const std::span<const float> batch = batched.prefill(long_tokens, 0, true);
  const std::vector<float> all(batch.begin(), batch.end());
  for (uint32_t p = 0; p < long_tokens.size(); ++p) {
    const std::span<const float> step = stepwise.prefill({&long_tokens[p], 1}, p, false);
    for (size_t i = 0; i < step.size(); ++i) ASSERT_EQ(step[i], all[p * step.size() + i]) << "position " << p;
  }
}

TEST(Limits, JsonInputIsBoundedInSizeAndDepth) {
  EXPECT_EQ(parse_json_input(R"({"a": [1, {"b": 2}]})", "r.json", "recipe")["a"][1]["b"], 2);
  test::expect_file_error([] { parse_json_input(std::string(100000, '[') + std::string(100000, ']'), "r.json", "recipe"); },
                          "r.json", "recipe nests deeper than 32 levels");
  test::expect_file_error([] { parse_json_input("{\"a\": ", "r.json", "recipe"); }, "r.json",
                          "recipe is not valid JSON");
  test::expect_file_error([] { parse_json_input(std::string(200, ' '), "m.blq", "metadata", {100, 32}); }, "m.blq",
                          "metadata of 200 bytes is larger than the limit of 100 bytes for JSON");
}
