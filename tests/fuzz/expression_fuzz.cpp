// Fuzz target: the expression language of `symgrad minimize --expr`, on any text. What parses is
// built into a graph and evaluated at a point, both ways (the tree and the compiled graph).
#include <cstdint>
#include <string>

#include "minimize/expression.hpp"
#include "symgrad/symgrad.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const symgrad::cli::Expression e(text);
    if (e.dimension() > 64) return 0;  // a point of any size is fine; keep the run quick
    const std::vector<double> point(e.dimension(), 0.5);
    (void)e.evaluate(point);
    symgrad::Graph g;
    const auto n = static_cast<std::int64_t>(point.size());
    symgrad::Value x = g.input("x", {symgrad::DType::f64, symgrad::Shape{n}});
    symgrad::Plan p = symgrad::compile(g, {e.build(x)});
    (void)p.run({{"x", symgrad::Tensor::from(symgrad::DType::f64, symgrad::Shape{n}, point)}});
  } catch (const symgrad::cli::ExpressionError&) {
  } catch (const symgrad::Error&) {
  }
  return 0;
}
