// `bitlens devices`: lists the Vulkan devices or, with --check, creates the one bitlens would use and
// runs a short transfer test, so that a missing driver, an unknown device name, a memory limit or a
// lost device shows up as one clear message before any long work.
#include <cstring>
#include <iostream>
#include <memory>
#include <vector>

#include "cli/cli.h"
#include "common/byte_size.h"
#include "common/error.h"
#include "vk/buffer.h"
#include "vk/context.h"

namespace bitlens::cli {

namespace {

struct DevicesOptions {
  std::string device;
  bool check = false;
  std::string check_bytes = "64MiB";
};

// Fills a buffer of `bytes` on the device, reads it back and compares.
void check_device(vk::Context& ctx, uint64_t bytes) {
  bytes = bytes / 4 * 4;
  if (bytes == 0) throw Error("--check-bytes must be at least 4");
  vk::Buffer buffer(ctx, bytes, vk::MemoryKind::Device, "the device check's buffer");
  constexpr uint32_t kWord = 0x5eed1234u;
  buffer.fill(kWord);
  std::vector<uint32_t> back(bytes / 4);
  buffer.download(back.data(), bytes);
  for (size_t i = 0; i < back.size(); ++i)
    if (back[i] != kWord)
      throw Error("device check failed: word " + std::to_string(i) + " read back as " + std::to_string(back[i]));
}

void devices(const DevicesOptions& o) {
  vk::ContextOptions options = vk::ContextOptions::from_env();
  if (!o.device.empty()) options.device = o.device;
  const auto list = vk::list_devices();
  if (!o.check) {
    for (const auto& d : list)
      std::cout << d.index << ": " << d.name << " [" << d.type << "], driver " << d.driver << "\n";
    return;
  }
  options.pipeline_cache = false;
  vk::Context ctx(options);
  const auto& caps = ctx.caps();
  std::cout << "using " << ctx.describe() << "\n"
            << "memory: " << format_bytes(caps.device_local_bytes) << " device-local, largest allocation "
            << format_bytes(caps.max_allocation) << ", limit "
            << (ctx.memory_limit() ? format_bytes(ctx.memory_limit()) + " (BITLENS_DEVICE_MEMORY_LIMIT)" : "none")
            << "\n";
  const uint64_t bytes = parse_byte_size(o.check_bytes, "--check-bytes");
  check_device(ctx, bytes);
  std::cout << "check: filled and read back " << format_bytes(bytes / 4 * 4) << ": ok\n";
}

}  // namespace

void add_devices_command(CLI::App& app) {
  auto o = std::make_shared<DevicesOptions>();
  CLI::App* cmd = app.add_subcommand("devices",
                                     "List the Vulkan devices; with --check, test the one bitlens would use");
  cmd->add_option("--device", o->device,
                  "Device to check: index or name substring (default: BITLENS_DEVICE, else the best by type)");
  cmd->add_flag("--check", o->check, "Create the device and fill, read back and compare a buffer");
  cmd->add_option("--check-bytes", o->check_bytes, "Size of the check's buffer (e.g. 64MiB)")->capture_default_str();
  cmd->callback([o] { devices(*o); });
}

}  // namespace bitlens::cli
