// The session's worker thread: a queue of commands run in order, background measurement while the
// queue is empty, cancellation, progress, and publication of snapshots.
#include "inspect/session.h"

#include "common/error.h"
#include "inspect/session_state.h"

namespace bitlens::inspect {

Session::Session(SessionOptions options) : snapshot_(std::make_shared<const Snapshot>()) {
  SessionHooks hooks;
  hooks.publish = [this](std::shared_ptr<const Snapshot> s) { publish(std::move(s)); };
  hooks.progress = [this](const std::string& task, float fraction) { set_progress(task, fraction); };
  hooks.cancelled = [this] { return cancel_.load(); };
  state_ = std::make_unique<SessionState>(options, std::move(hooks));
  worker_ = std::thread([this] { loop(); });
}

Session::~Session() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cancel_ = true;
  }
  wake_.notify_all();
  worker_.join();
  for (Job& j : queue_) j.done.set_value({false, "the session was closed before '" + describe(j.command) + "' ran"});
}

Ticket Session::submit(Command command) {
  std::promise<Status> promise;
  Ticket ticket = promise.get_future().share();
  {
    std::lock_guard lock(mu_);
    if (std::holds_alternative<SetBudget>(command)) {
      for (auto it = queue_.begin(); it != queue_.end();) {
        if (std::holds_alternative<SetBudget>(it->command)) {
          it->done.set_value({false, "cancelled: " + describe(it->command) + " was replaced by " + describe(command)});
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
      if (running_budget_) cancel_ = true;
    }
    if (running_background_) cancel_ = true;  // commands go before background work
    queue_.push_back({std::move(command), std::move(promise)});
  }
  wake_.notify_all();
  return ticket;
}

std::shared_ptr<const Snapshot> Session::snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

Progress Session::progress() const {
  std::lock_guard lock(mu_);
  return progress_;
}

void Session::cancel() {
  std::lock_guard lock(mu_);
  if (busy_) cancel_ = true;
}

bool Session::idle() const {
  std::lock_guard lock(mu_);
  return queue_.empty() && !busy_ && !background_pending_;
}

void Session::wait_idle() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && !busy_ && !background_pending_; });
}

void Session::publish(std::shared_ptr<const Snapshot> s) {
  std::lock_guard lock(mu_);
  snapshot_ = std::move(s);
}

void Session::set_progress(const std::string& task, float fraction) {
  std::lock_guard lock(mu_);
  progress_.task = task;
  progress_.fraction = fraction;
}

void Session::loop() {
  for (;;) {
    std::optional<Job> job;
    {
      std::unique_lock lock(mu_);
      background_pending_ = state_->has_background_work();
      busy_ = false;
      running_budget_ = false;
      running_background_ = false;
      cancel_ = false;
      progress_ = {};
      if (queue_.empty() && !background_pending_) idle_cv_.notify_all();
      wake_.wait(lock, [&] { return stop_ || !queue_.empty() || background_pending_; });
      if (stop_) break;
      if (!queue_.empty()) {
        job.emplace(std::move(queue_.front()));
        queue_.pop_front();
        running_budget_ = std::holds_alternative<SetBudget>(job->command);
        progress_.task = describe(job->command);
      } else {
        progress_.task = "measuring allocation candidates";
        running_background_ = true;
      }
      busy_ = true;
      progress_.busy = true;
    }
    if (!job) {
      try {
        state_->background_step();
      } catch (const Cancelled&) {
        // Stopped for a command; the step runs again later.
      } catch (const std::exception&) {
        state_->stop_background();  // a failure here would repeat forever; budgets measure on demand
      }
      continue;
    }
    Status status;
    try {
      status.message = state_->apply(job->command);
    } catch (const Cancelled&) {
      status = {false, "cancelled: " + describe(job->command)};
    } catch (const std::exception& e) {
      status = {false, e.what()};
    }
    job->done.set_value(std::move(status));
  }
  std::lock_guard lock(mu_);
  busy_ = false;
  idle_cv_.notify_all();
}

}  // namespace bitlens::inspect
