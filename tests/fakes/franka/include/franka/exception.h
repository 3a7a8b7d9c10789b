// Fake libfranka (test double): the exception hierarchy.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace franka {

struct Record {};

struct Exception : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ControlException : public Exception {
  explicit ControlException(const std::string& what, std::vector<Record> log = {})
      : Exception(what), log(std::move(log)) {}
  const std::vector<Record> log;
};

struct NetworkException : public Exception {
  using Exception::Exception;
};

struct CommandException : public Exception {
  using Exception::Exception;
};

}  // namespace franka
