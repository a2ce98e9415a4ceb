// Map graphs of dataset_map() on the one op table (src/data/map_graph.cpp):
// table ops on dataset elements, dtypes kept exactly (int64, strings), the
// float32 boundary, bad graphs. Expected values are computed by hand loops.
#include <cstdint>
#include <string>
#include <vector>

#include "dataset.h"
#include "harness.h"

using namespace kn;

namespace {

Element element_of(Value v) {
  Element e;
  e.comps.push_back(std::move(v));
  return e;
}

Value int_value(DType dt, Shape s, std::vector<int64_t> vals) {
  Value v;
  v.dtype = dt;
  v.shape = std::move(s);
  v.i = std::move(vals);
  return v;
}

}  // namespace

TEST(table_ops_on_elements) {
  // x: int32 (3,); y = x * 3 (int32), b = x > 4 (bool), f = x / 2 (float32), e = expand_dims(x, 0)
  auto g = MapGraph::from_json(Json::parse(R"({"inputs":[{"dtype":"int32","shape":[3]}],"nodes":[
    {"op":"constant","attrs":{"dtype":"int32"},"value":3},
    {"op":"mul","inputs":[0,1]},
    {"op":"constant","attrs":{"dtype":"int32"},"value":4},
    {"op":"greater","inputs":[0,3]},
    {"op":"constant","attrs":{"dtype":"int32"},"value":2},
    {"op":"div","inputs":[0,5]},
    {"op":"expand_dims","inputs":[0],"attrs":{"axis":0}}],
    "outputs":[2,4,6,7]})"));
  GraphExecutor ex(*g);
  for (int rep = 0; rep < 2; ++rep) {  // buffers are reused on the second run
    std::vector<int64_t> x = {1 + rep, 5, -7};
    Element e = element_of(int_value(DType::Int32, {3}, x));
    ex.run(e);
    CHECK(e.comps.size() == 4);
    CHECK(e.comps[0].dtype == DType::Int32 && e.comps[1].dtype == DType::Bool && e.comps[2].dtype == DType::Float32);
    for (int k = 0; k < 3; ++k) {
      CHECK(e.comps[0].i[k] == 3 * x[k]);
      CHECK(e.comps[1].i[k] == (x[k] > 4 ? 1 : 0));
      CHECK(e.comps[2].f[k] == static_cast<float>(x[k]) / 2.0f);
      CHECK(e.comps[3].i[k] == x[k]);
    }
    CHECK((e.comps[3].shape == Shape{1, 3}));
  }
}

TEST(int64_exact_through_cast_and_reshape) {
  const int64_t big = (int64_t(1) << 40) + 1;  // not representable in float32
  auto g = MapGraph::from_json(Json::parse(R"({"inputs":[{"dtype":"int64","shape":[2]}],"nodes":[
    {"op":"reshape","inputs":[0],"attrs":{"shape":[2,1]}},
    {"op":"cast","inputs":[1],"attrs":{"dtype":"int32"}}],
    "outputs":[1,2]})"));
  GraphExecutor ex(*g);
  Element e = element_of(int_value(DType::Int64, {2}, {big, -3}));
  ex.run(e);
  CHECK(e.comps[0].i[0] == big && e.comps[0].i[1] == -3);
  CHECK((e.comps[0].shape == Shape{2, 1}));
  CHECK(e.comps[1].i[0] == 1 && e.comps[1].i[1] == -3);  // int32 wraps: 2^40 + 1 -> 1
  // an op whose kernel works in float32 refuses the value instead of rounding it
  auto add = MapGraph::from_json(Json::parse(R"({"inputs":[{"dtype":"int64","shape":[2]}],"nodes":[
    {"op":"constant","attrs":{"dtype":"int64"},"value":1},{"op":"add","inputs":[0,1]}],"outputs":[2]})"));
  GraphExecutor ex2(*add);
  Element e2 = element_of(int_value(DType::Int64, {2}, {big, 0}));
  CHECK_THROWS(ex2.run(e2), "beyond 2^24");
}

TEST(strings_move_through_layout_ops) {
  auto g = MapGraph::from_json(Json::parse(R"({"inputs":[{"dtype":"string","shape":[4]}],"nodes":[
    {"op":"reshape","inputs":[0],"attrs":{"shape":[2,-1]}},
    {"op":"identity","inputs":[1]}],"outputs":[2, 0]})"));
  GraphExecutor ex(*g);
  Value v;
  v.dtype = DType::String;
  v.shape = {4};
  v.s = {"a", "bb", "", std::string("d\0e", 3)};
  Element e = element_of(v);
  ex.run(e);
  CHECK((e.comps[0].shape == Shape{2, 2}));
  CHECK(e.comps[0].s == v.s);
  CHECK(e.comps[1].s == v.s);  // the input returned as is
}

TEST(bad_graphs_name_the_problem) {
  CHECK_THROWS(MapGraph::from_json(Json::parse(R"({"inputs":[{"dtype":"float32","shape":[]}],
    "nodes":[{"op":"no_such_op","inputs":[0]}],"outputs":[1]})")), "unknown op 'no_such_op'");
  CHECK_THROWS(MapGraph::from_json(Json::parse(R"({"inputs":[{"dtype":"float32","shape":[]}],
    "nodes":[{"op":"one_hot","inputs":[0],"attrs":{"depth":3}}],"outputs":[1]})")), "indices must be integers");
  CHECK_THROWS(MapGraph::from_json(Json::parse(R"({"inputs":[{"dtype":"string","shape":[]}],
    "nodes":[{"op":"exp","inputs":[0]}],"outputs":[1]})")), "string tensors are not supported");
  CHECK_THROWS(MapGraph::from_json(Json::parse(R"({"inputs":[{"dtype":"string","shape":[2]}],
    "nodes":[{"op":"parse_example","inputs":[0],"attrs":{"features":[{"key":"a","dtype":"int64","shape":[]}]}}],
    "outputs":[1]})")), "parse before dataset_batch()");
  CHECK_THROWS(MapGraph::from_json(Json::parse(R"({"inputs":[{"dtype":"float32","shape":[]}],
    "nodes":[{"op":"neg","inputs":[3]}],"outputs":[1]})")), "before it is defined");
}

KN_TEST_MAIN
