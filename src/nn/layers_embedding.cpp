// Embedding: integer indices -> rows of a (input_dim, output_dim) table.
// Indices arrive as float32 (the engine's only dtype); each is checked to be a
// finite whole number in [0, input_dim) before it is used as a row offset.
#include <cmath>
#include <string>

#include "initializers.h"
#include "layer.h"

namespace kn {

class Embedding : public Layer {
 public:
  int64_t input_dim = 0, output_dim = 0;
  int64_t input_length = -1;  // -1 = None
  bool mask_zero = false;     // output mask (N, ...) = index != 0
  Json embeddings_init;

  std::string class_name() const override { return "Embedding"; }

  Shape build(const std::vector<Shape>& in, Rng& rng) override {
    const Shape& s = in.at(0);
    if (input_length > 0 && (s.empty() || s[0] != input_length))
      throw Error("layer '" + name + "' (Embedding) has input_length " + std::to_string(input_length) +
                  " but got inputs of shape " + shape_str(s));
    if (!built_) {
      params.resize(1);
      params[0].name = "embeddings";
      params[0].value = Tensor({input_dim, output_dim});  // (input_dim, output_dim)
      initialize(params[0].value, embeddings_init, input_dim, output_dim, rng);
      params[0].grad = Tensor(params[0].value.shape);
      built_ = true;
    }
    Shape out = s;
    out.push_back(output_dim);  // (..., output_dim)
    return out;
  }

  MaskOut output_mask(const std::vector<bool>&) const override {
    return mask_zero ? MaskOut::Computed : MaskOut::None;
  }
  void compute_mask(const std::vector<const Tensor*>& in, const std::vector<const Tensor*>&,
                    Tensor& mask) const override {
    const Tensor& x = *in[0];                 // (N, ...) indices
    for (int64_t i = 0; i < x.size(); ++i) mask.data[i] = x.data[i] != 0.0f ? 1.0f : 0.0f;  // (N, ...)
  }

  // Row of index value v (checked); throws naming the layer and the value.
  int64_t row_of(float v) const {
    if (!(v >= 0.0f && v < static_cast<float>(input_dim)) || v != std::floor(v))
      throw Error("layer '" + name + "' (Embedding): index " + std::to_string(v) +
                  " is not an integer in [0, input_dim = " + std::to_string(input_dim) + ")");
    return static_cast<int64_t>(v);
  }

  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];                 // (N, ...) indices as float
    const float* table = params[0].value.ptr();  // (input_dim, output_dim)
    const int64_t n = x.size();
    for (int64_t i = 0; i < n; ++i) row_of(x.data[i]);  // validate all before writing
    float* y = out.ptr();                     // (N, ..., output_dim)
    for (int64_t i = 0; i < n; ++i) {
      const float* r = table + static_cast<int64_t>(x.data[i]) * output_dim;
      std::copy(r, r + output_dim, y + i * output_dim);
    }
  }

  // Indices have no gradient; the table's gradient touches only the rows seen.
  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor&,
                const Tensor& dout, const std::vector<Tensor*>&) override {
    if (!trainable) return;
    const Tensor& x = *in[0];                 // (N, ...)
    float* g = params[0].grad.ptr();          // (input_dim, output_dim)
    const float* d = dout.ptr();              // (N, ..., output_dim)
    for (int64_t i = 0; i < x.size(); ++i) {
      float* gr = g + row_of(x.data[i]) * output_dim;
      const float* dr = d + i * output_dim;
      for (int64_t j = 0; j < output_dim; ++j) gr[j] += dr[j];
    }
  }

  Json config() const override {
    Json c = base_config();
    c.set("input_dim", input_dim);
    c.set("output_dim", output_dim);
    c.set("embeddings_initializer", embeddings_init);
    c.set("embeddings_regularizer", Json());
    c.set("activity_regularizer", Json());
    c.set("embeddings_constraint", Json());
    c.set("mask_zero", mask_zero);
    c.set("input_length", input_length > 0 ? Json(input_length) : Json());
    return c;
  }
};

LayerPtr make_embedding(const Json& cfg) {
  auto l = std::make_shared<Embedding>();
  apply_base_config(*l, cfg);
  const std::string who = "layer '" + l->name + "' (Embedding): ";
  l->input_dim = config_count(cfg, "input_dim", *l);
  l->output_dim = config_count(cfg, "output_dim", *l);
  if (l->input_dim <= 0) throw Error(who + "input_dim must be a positive integer");
  if (l->output_dim <= 0) throw Error(who + "output_dim must be a positive integer");
  l->mask_zero = cfg.get("mask_zero", Json(false)).as_bool();
  const Json& il = cfg.get("input_length", Json());
  if (il.is_number()) l->input_length = il.as_int();
  else if (il.is_array() && il.size() == 1 && il[0].is_number()) l->input_length = il[0].as_int();
  else if (!il.is_null()) throw Error(who + "input_length must be an integer or null");
  Json init = cfg.get("embeddings_initializer", Json("uniform"));
  if (init.is_string() && init.as_string() == "uniform") init = Json("random_uniform");  // Keras alias
  l->embeddings_init = initializer_config(init);
  return l;
}
KN_REGISTER_LAYER(Embedding, make_embedding);

}  // namespace kn
