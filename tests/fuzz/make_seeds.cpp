// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): small valid files of
// each format, so that fuzzing starts from inputs that reach deep into the parsers.
//   ./build-fuzz/tests/fuzz/make_fuzz_seeds tests/fuzz/corpus
#include <cstdio>
#include <string>

#include "common/error.h"
#include "model/container.h"
#include "synthetic_model.h"

using namespace bitlens;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds CORPUS_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  try {
    model::ModelConfig c;
    c.dim = 32;
    c.hidden_dim = 32;
    c.n_layers = 1;
    c.n_heads = 2;
    c.n_kv_heads = 1;
    c.vocab_size = 8;
    c.seq_len = 8;
    const model::Model m = test::synthetic_model(c, 1);
    model::write_container(dir + "/container/q4.blq", model::pack_model(m, {quant::Format::Q4, 32, quant::Format::Q8, 32}));
    model::write_container(dir + "/container/f16.blq", model::pack_model(m, {quant::Format::F16, 0, quant::Format::F32, 0}));
  } catch (const Error& e) {
    std::fprintf(stderr, "make_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
