// Session: an inspector session without any GUI. It holds the fp32 model, the quantization of every
// block linear, their errors, the undo history and the evaluation results; commands (command.h)
// run in order on one worker thread, and every change is published as a new immutable Snapshot, so
// a reader (the GUI's frame loop) never waits for the work. A command that is invalid (unknown
// layer, impossible budget, nothing to undo) or cancelled reports a clear error on its ticket and
// leaves the state as it was. While no command is queued, the worker measures every layer's
// allocation candidates in the background, so that budget changes are quick.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "inspect/command.h"
#include "inspect/snapshot.h"
#include "pipeline/layer_allocation.h"
#include "pipeline/quantize_linear.h"

namespace bitlens::inspect {

// The candidates the bit allocation chooses from for a [rows x cols] layer.
using CandidateFn = std::function<std::vector<pipeline::LinearSpec>(uint32_t rows, uint32_t cols, const quant::Calibration*)>;

struct SessionOptions {
  pipeline::LinearSpec initial{pipeline::Method::Rtn, 4, 64};  // every layer's spec after opening
  CandidateFn candidates = pipeline::default_candidates;     // quant/layer_allocation.h
  bool background_measurement = true;                     // measure allocation candidates while idle
};

struct Status {
  bool ok = true;
  std::string message;  // what happened, or why nothing did
};
using Ticket = std::shared_future<Status>;

class SessionState;

class Session {
 public:
  explicit Session(SessionOptions options = {});
  ~Session();  // cancels the running command, fails the queued ones, joins the worker
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Queues a command. A new budget replaces budgets still queued and cancels one being computed
  // (slider drags do not pile up).
  Ticket submit(Command command);
  Status run(Command command) { return submit(std::move(command)).get(); }

  std::shared_ptr<const Snapshot> snapshot() const;
  Progress progress() const;
  // Stops the command being run, if any: its ticket says "cancelled" and the state is unchanged.
  void cancel();
  // Blocks until no command is queued or running and no background work is left.
  void wait_idle();
  bool idle() const;

 private:
  struct Job {
    Command command;
    std::promise<Status> done;
  };
  void loop();
  void publish(std::shared_ptr<const Snapshot> s);
  void set_progress(const std::string& task, float fraction);

  std::unique_ptr<SessionState> state_;  // touched by the worker thread only
  mutable std::mutex mu_;
  std::condition_variable wake_, idle_cv_;
  std::deque<Job> queue_;
  bool stop_ = false;
  bool busy_ = false;
  bool running_budget_ = false;
  bool running_background_ = false;
  bool background_pending_ = false;
  std::atomic<bool> cancel_{false};
  std::shared_ptr<const Snapshot> snapshot_;
  Progress progress_;
  std::thread worker_;
};

}  // namespace bitlens::inspect
