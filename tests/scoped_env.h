// Test helper: sets or unsets an environment variable for the life of a scope and restores it
// afterwards, so that tests changing BITLENS_* or VK_* variables leave the process as they found it.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

namespace bitlens::test {

class ScopedEnv {
 public:
  // value nullopt: unset the variable.
  ScopedEnv(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value)
      ::setenv(name_.c_str(), value->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_.c_str(), old_->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace bitlens::test
