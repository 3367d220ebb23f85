#pragma once
/// @file
/// MNIST-format (IDX) files, plain or gzip-compressed, and the Fashion-MNIST data set that
/// Debian's dataset-fashion-mnist installs. Every header is checked (magic, element type, rank,
/// dimensions) against the file's size before anything is allocated: for a gzip file, against the
/// uncompressed size its trailer records.

#include <string>

#include "symgrad/core/tensor.hpp"
#include "symgrad/data/dataset.hpp"

namespace symgrad {

/// The tensor stored in an IDX file: unsigned/signed bytes, shorts and ints as i32, floats as f32,
/// doubles as f64. Throws Error naming the file and what is wrong.
Tensor read_idx(const std::string& path);

/// Images (IDX, [N, rows, cols] bytes) scaled to [0, 1] as f32 [N, 1, rows, cols], with their labels
/// (IDX, [N]); the counts must agree.
Dataset load_mnist_format(const std::string& images, const std::string& labels, const std::string& name = "mnist");

/// Where Debian's dataset-fashion-mnist puts the files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// Fashion-MNIST's "train" (60000 images) or "test" (10000) part from `dir`.
Dataset load_fashion_mnist(const std::string& part, const std::string& dir = kFashionMnistDir);

}  // namespace symgrad
