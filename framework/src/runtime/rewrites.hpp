#pragma once
// Rewrites of the compiler that change what is computed for a cheaper equal: each keeps every
// value the plan shows (outputs, updates) the same, and has a test that compares the rewritten
// plan with the reference backend's, which runs the graph as built. Internal to the runtime;
// compile() applies them on fusing backends, after the layers are formed.

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <vector>

#include "fusion.hpp"

namespace symgrad::rewrites {

using fusion::Key;
using fusion::NodeOf;

/// ReLU's gradient moved before max pooling's backward: relu_backward(max_pool2d_backward(y, g),
/// y) becomes max_pool2d_backward(y, relu_backward(g, p)), where p = max_pool2d(y) with the same
/// window is in the plan (the forward pass's pooled output). Exact: the backward routes each
/// window's g to an element of y equal to the window's maximum p, so [y > 0] there is [p > 0]; the
/// mask is applied to the pooled tensor (4x smaller for 2x2 windows) instead of the full one. Only
/// where the pooling's backward has no other reader and is not kept. The new relu_backward takes
/// the pooling backward's id, the new pooling backward the old relu_backward's; both live in
/// `storage`, and `inputs_of` is updated. Returns how many were rewritten.
int relu_before_max_pool_backward(const NodeOf& node_of, const std::set<std::int32_t>& needed,
                                  std::map<std::int32_t, std::vector<Key>>& inputs_of, const std::set<Key>& keep,
                                  std::deque<Node>& storage, std::map<std::int32_t, const Node*>& replaced);

}  // namespace symgrad::rewrites
