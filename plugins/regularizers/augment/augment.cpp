// augment: label-preserving transforms of image batches, training batches only (Goodfellow, Bengio
// and Courville, "Deep Learning", section 7.4; torchvision's RandomHorizontalFlip and RandomCrop).
// For every example of a batch [N, C, H, W] (or [N, H, W]), independently:
//   flip:         with probability 1/2, mirror left-right
//   shift s:      translate by (dy, dx), each uniform in [-s, s], zeros filling the border
//   crop_padding p: pad by p with zeros and take a random H x W window: a translation in [-p, p]
//                 (torchvision's RandomCrop(size, padding=p)); with both, the larger range is used
// Draws come from the run's seed and the step: the same batches after a resume.
#include <algorithm>
#include <vector>

#include <symgrad/core/random.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Augment final : public Regularizer {
 public:
  explicit Augment(const Hyperparams& h)
      : flip_(h.boolean("flip")), shift_(std::max(h.integer("shift"), h.integer("crop_padding"))) {}

  void transform_batch(BatchData& b) override {
    const Shape& s = b.features.shape();
    if (s.rank() != 3 && s.rank() != 4) {
      throw UsageError("augment transforms images [N, C, H, W] or [N, H, W]; this batch is " + b.features.type().to_string());
    }
    const std::int64_t n = s[0], h = s[s.rank() - 2], w = s[s.rank() - 1];
    const std::int64_t planes = b.features.numel() / (n * h * w) * n;  // image planes: N x C
    const std::int64_t per_example = planes / n;
    Random rng(b.seed);
    std::vector<double> plane(static_cast<std::size_t>(h * w));
    for (std::int64_t e = 0; e < n; ++e) {
      const bool mirror = flip_ && rng.uniform() < 0.5;
      const std::int64_t dy = shift_ ? static_cast<std::int64_t>(rng.below(2 * shift_ + 1)) - shift_ : 0;
      const std::int64_t dx = shift_ ? static_cast<std::int64_t>(rng.below(2 * shift_ + 1)) - shift_ : 0;
      if (!mirror && dy == 0 && dx == 0) continue;
      for (std::int64_t c = 0; c < per_example; ++c) {
        const std::int64_t base = (e * per_example + c) * h * w;
        for (std::int64_t i = 0; i < h * w; ++i) plane[static_cast<std::size_t>(i)] = b.features.get(base + i);
        for (std::int64_t y = 0; y < h; ++y) {
          for (std::int64_t x = 0; x < w; ++x) {
            // output (y, x) reads source (y - dy, x' - dx), x' mirrored when flipping
            const std::int64_t sy = y - dy, sx0 = x - dx, sx = mirror ? w - 1 - sx0 : sx0;
            const bool inside = sy >= 0 && sy < h && sx0 >= 0 && sx0 < w;
            b.features.set(base + y * w + x, inside ? plane[static_cast<std::size_t>(sy * w + sx)] : 0.0);
          }
        }
      }
    }
  }

 private:
  bool flip_;
  std::int64_t shift_;
};

void register_components(PluginRegistrar& r) {
  r.add_regularizer("augment", "random horizontal flips, shifts and padded crops of training images",
                    Schema{bool_param("flip", true, "mirror left-right with probability 1/2"),
                           int_param("shift", 2, "translate by up to this many pixels each way (zeros fill)").at_least(0),
                           int_param("crop_padding", 0, "pad by this many pixels and crop back at random").at_least(0)},
                    [](const Hyperparams& h) { return std::make_unique<Augment>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("augment", "1.0.0", register_components)
