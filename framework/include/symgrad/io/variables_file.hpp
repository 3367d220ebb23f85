#pragma once
/// @file
/// Saving and loading a VariableStore (parameters, optimizer slots, the learning rate and step
/// count: everything keyed by name). The format is versioned, every tensor carries a checksum,
/// and a save is atomic: written to a temporary file beside the target, flushed to disk, then
/// renamed over it, so a crash leaves the previous file intact.
///
/// Layout (little-endian): "SYMGRADV", u32 version (2), u64 count; per tensor: u32 name length,
/// name, u8 dtype, u32 rank, i64 dims[rank], u64 byte count, the bytes, u64 FNV-1a hash of the
/// record from its name length to its last byte (version 1, still read: a hash of the bytes only).

#include <string>

#include "symgrad/runtime/variable_store.hpp"

namespace symgrad {

/// Writes every variable of `store` to `path` (atomically). Throws Error naming the file.
void save_variables(const VariableStore& store, const std::string& path);

/// Reads a file written by save_variables. Checks the magic, version, every size against the
/// file's length before allocating, and every checksum; an Error names the file and the tensor.
VariableStore load_variables(const std::string& path);

}  // namespace symgrad
