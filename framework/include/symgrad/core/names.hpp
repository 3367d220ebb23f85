#pragma once
/// @file
/// Suggestions for misspelt names (ops, hyperparameters, plugins).

#include <string>
#include <vector>

namespace symgrad {

/// Edit distance (insertions, deletions, substitutions, swaps of neighbours) between two strings.
std::size_t edit_distance(const std::string& a, const std::string& b);

/// The candidate nearest to `name` (at most 3 edits away), or "" when none is close.
std::string nearest_name(const std::string& name, const std::vector<std::string>& candidates);

/// " (did you mean 'x'?)" for the nearest candidate, or "".
std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace symgrad
