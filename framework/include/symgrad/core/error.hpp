#pragma once
/// @file
/// The exception hierarchy. Every error symgrad raises on bad input derives from symgrad::Error
/// and says what is at fault (op, node, shape, input name) and what was expected.

#include <stdexcept>
#include <string>

namespace symgrad {

/// Base of every exception symgrad throws on bad input or a failed check.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A shape or dtype does not fit an op, a broadcast, a feed or a size limit.
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// A gradient was asked for that does not exist, is undefined or is not implemented.
class GradientError : public Error {
 public:
  using Error::Error;
};

/// A value given to a plan at run time (a feed or a variable) is missing or does not fit.
class FeedError : public Error {
 public:
  using Error::Error;
};

/// An op, attribute or name is unknown or used wrongly.
class UsageError : public Error {
 public:
  using Error::Error;
};

/// A plugin cannot be found, loaded or registered, or one of its components failed: the message
/// names the plugin, its file and what it was doing.
class PluginError : public Error {
 public:
  using Error::Error;
};

}  // namespace symgrad
