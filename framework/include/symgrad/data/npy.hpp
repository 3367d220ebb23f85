#pragma once
/// @file
/// NumPy's files, so that data come from Python without converting them: `.npy` (one array: NumPy's
/// documented format 1.0, 2.0 and 3.0 — a magic string, a header dict with 'descr', 'fortran_order'
/// and 'shape', then the data) and `.npz` (a zip of .npy files, stored or deflated, as np.savez and
/// np.savez_compressed write them). Element types: little- or big-endian floats (f4, f8), signed
/// and unsigned integers of 1 to 8 bytes and booleans; Fortran order is read into C order. A bad
/// header, an unsupported type, a shape that does not match the data, or a truncated file is an
/// Error naming the file (and the member of an .npz).

#include <map>
#include <string>

#include "symgrad/core/tensor.hpp"
#include "symgrad/data/dataset.hpp"

namespace symgrad {

/// One array: floats as f32 or f64 (their own width), integers and booleans as i32 when every
/// value fits, else i64.
Tensor read_npy(const std::string& path);
/// The same from bytes in memory; `name` names them in errors.
Tensor parse_npy(const std::string& bytes, const std::string& name);
/// Every array of an .npz by its name (the member's name without ".npy").
std::map<std::string, Tensor> read_npz(const std::string& path);
/// The same from bytes in memory; `name` names them in errors.
std::map<std::string, Tensor> parse_npz(const std::string& bytes, const std::string& name);

/// A data set of named arrays of as many rows each: "x" the features (as f32), "y" the labels
/// when it is integer and one-dimensional (as i32 classes), else a real target kept as an array
/// "y" (f32); any other array by its name (floats as f32). UsageError naming the arrays when "x"
/// is missing or the row counts differ.
Dataset dataset_from_arrays(const std::string& name, const std::map<std::string, Tensor>& arrays);

}  // namespace symgrad
