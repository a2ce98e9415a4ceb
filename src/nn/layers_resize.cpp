// Keras 2.2.5 resizing layers on 2-D / 3-D images: UpSampling2D/3D (nearest:
// each value repeated size times per axis; UpSampling2D also bilinear, see
// build_bilinear), Cropping2D/3D, ZeroPadding3D
// (ZeroPadding2D is in layers_conv.cpp). All are copies: every output element
// reads one input element or is zero, so the layer keeps a table
// src[j] (per-sample output index j -> input index or -1) built from the
// shapes, forward gathers and backward scatter-adds. Both data formats:
// channels_last (spatial..., C) and channels_first (C, spatial...).
#include <algorithm>
#include <cmath>

#include "layer.h"
#include "parallel.h"

namespace kn {

class SpatialCopy : public Layer {
 public:
  std::string cls;                          // Keras class name
  int rank = 2;                             // spatial axes
  bool channels_first = false;
  std::vector<int64_t> size;                // UpSampling: repeats per axis
  std::vector<int64_t> before, after;       // Cropping (removed) / ZeroPadding (added) per axis
  std::string interpolation = "nearest";    // UpSampling2D
  Shape in_shape, out_shape;                // per sample
  std::vector<int64_t> src;                 // (out per-sample numel): input index or -1
  // UpSampling2D bilinear (TF resize_bilinear, corners not aligned): output
  // element j = sum_k bl_w[4j + k] * input[bl_idx[4j + k]]
  std::vector<int64_t> bl_idx;
  std::vector<float> bl_w;

  std::string class_name() const override { return cls; }
  bool upsampling() const { return cls.rfind("UpSampling", 0) == 0; }
  bool cropping() const { return cls.rfind("Cropping", 0) == 0; }

  Shape build(const std::vector<Shape>& in, Rng&) override {
    const Shape& s = in.at(0);
    if (static_cast<int>(s.size()) != rank + 1)
      throw Error("layer '" + name + "' (" + cls + ") expects inputs of rank " + std::to_string(rank + 2) +
                  " (batch included: " + (channels_first ? "(N, C, spatial...)" : "(N, spatial..., C)") + "), got " +
                  shape_str(s));
    const int off = channels_first ? 1 : 0;  // first spatial axis in the per-sample shape
    Shape o = s;
    for (int d = 0; d < rank; ++d) {
      const int64_t n = s[off + d];
      if (upsampling()) o[off + d] = n * size[d];
      else if (cropping()) {
        o[off + d] = n - before[d] - after[d];
        if (o[off + d] <= 0)
          throw Error("layer '" + name + "' (" + cls + "): cropping " + std::to_string(before[d]) + " + " +
                      std::to_string(after[d]) + " removes all of spatial axis " + std::to_string(d + 1) +
                      " of the input " + shape_str(s));
      } else {
        o[off + d] = n + before[d] + after[d];
      }
    }
    checked_numel(o, "layer '" + name + "' output");
    in_shape = s;
    out_shape = o;
    // index table
    const int64_t per = shape_numel(o), r = static_cast<int64_t>(o.size());
    src.assign(static_cast<size_t>(per), -1);
    std::vector<int64_t> c(static_cast<size_t>(r));
    for (int64_t j = 0; j < per; ++j) {
      int64_t rem = j;
      for (int64_t d = r - 1; d >= 0; --d) { c[d] = rem % o[d]; rem /= o[d]; }
      int64_t idx = 0;
      bool inside = true;
      for (int64_t d = 0; d < r; ++d) {
        int64_t ic = c[d];
        const int64_t sd = d - off;  // spatial axis number, if any
        if (sd >= 0 && sd < rank) {
          if (upsampling()) ic = c[d] / size[sd];
          else if (cropping()) ic = c[d] + before[sd];
          else ic = c[d] - before[sd];
        }
        if (ic < 0 || ic >= s[d]) inside = false;
        idx = idx * s[d] + ic;
      }
      src[j] = inside ? idx : -1;
    }
    if (interpolation == "bilinear") build_bilinear(s, o, off);
    built_ = true;
    return o;
  }

  // Input coordinate of output c along an upsampled axis: c / size, between
  // floor and floor + 1 (clamped to the last row / column).
  void build_bilinear(const Shape& s, const Shape& o, int off) {
    const int64_t per = shape_numel(o), r = static_cast<int64_t>(o.size());
    bl_idx.assign(static_cast<size_t>(4 * per), 0);
    bl_w.assign(static_cast<size_t>(4 * per), 0.0f);
    std::vector<int64_t> c(static_cast<size_t>(r));
    for (int64_t j = 0; j < per; ++j) {
      int64_t rem = j;
      for (int64_t d = r - 1; d >= 0; --d) { c[d] = rem % o[d]; rem /= o[d]; }
      int64_t lo[2], hi[2];
      double fr[2];
      for (int a = 0; a < 2; ++a) {
        const int64_t d = off + a;
        lo[a] = c[d] / size[a];
        fr[a] = static_cast<double>(c[d] % size[a]) / static_cast<double>(size[a]);
        hi[a] = std::min(lo[a] + 1, s[d] - 1);
      }
      for (int k = 0; k < 4; ++k) {
        const bool down = k & 2, right = k & 1;
        int64_t idx = 0;
        for (int64_t d = 0; d < r; ++d) {
          int64_t ic = c[d];
          if (d == off) ic = down ? hi[0] : lo[0];
          if (d == off + 1) ic = right ? hi[1] : lo[1];
          idx = idx * s[d] + ic;
        }
        bl_idx[4 * j + k] = idx;
        bl_w[4 * j + k] = static_cast<float>((down ? fr[0] : 1.0 - fr[0]) * (right ? fr[1] : 1.0 - fr[1]));
      }
    }
  }

  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const int64_t N = in[0]->shape[0], pin = shape_numel(in_shape), pout = static_cast<int64_t>(src.size());
    if (in[0]->size() != N * pin) throw Error("layer '" + name + "': input shape differs from the built shape");
    const float* x = in[0]->ptr();  // (N, pin)
    float* y = out.ptr();           // (N, pout)
    if (!bl_idx.empty()) {
      parallel_for(N, [&](int64_t n) {
        for (int64_t j = 0; j < pout; ++j) {
          float v = 0.0f;
          for (int k = 0; k < 4; ++k) v += bl_w[4 * j + k] * x[n * pin + bl_idx[4 * j + k]];
          y[n * pout + j] = v;
        }
      });
      return;
    }
    parallel_for(N, [&](int64_t n) {
      for (int64_t j = 0; j < pout; ++j) y[n * pout + j] = src[j] >= 0 ? x[n * pin + src[j]] : 0.0f;
    });
  }
  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor&, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const int64_t N = in[0]->shape[0], pin = shape_numel(in_shape), pout = static_cast<int64_t>(src.size());
    const float* dy = dout.ptr();  // (N, pout)
    float* dx = din[0]->ptr();     // (N, pin)
    if (!bl_idx.empty()) {
      parallel_for(N, [&](int64_t n) {
        for (int64_t j = 0; j < pout; ++j)
          for (int k = 0; k < 4; ++k) dx[n * pin + bl_idx[4 * j + k]] += bl_w[4 * j + k] * dy[n * pout + j];
      });
      return;
    }
    parallel_for(N, [&](int64_t n) {
      for (int64_t j = 0; j < pout; ++j)
        if (src[j] >= 0) dx[n * pin + src[j]] += dy[n * pout + j];
    });
  }
  Json config() const override {
    Json c = base_config();
    if (upsampling()) {
      c.set("size", json_ints(size));
    } else {
      Json p = Json::array();
      for (int d = 0; d < rank; ++d) p.push(json_ints({before[d], after[d]}));
      c.set(cropping() ? "cropping" : "padding", p);
    }
    c.set("data_format", channels_first ? "channels_first" : "channels_last");
    if (cls == "UpSampling2D") c.set("interpolation", interpolation);
    return c;
  }
};

namespace {
// [[a, b], ...] / [a, b, c] / a -> (before, after) per axis.
void read_pairs(const Json& v, int rank, SpatialCopy& l, const char* key) {
  l.before.assign(rank, 0);
  l.after.assign(rank, 0);
  auto whole = [&](const Json& e) {
    if (!e.is_number() || e.as_number() < 0 || e.as_number() != std::floor(e.as_number()))
      throw Error("layer '" + l.name + "' (" + l.cls + "): '" + key + "' entries must be whole numbers >= 0, got " + e.dump());
    return e.as_int();
  };
  if (v.is_number()) {
    for (int d = 0; d < rank; ++d) l.before[d] = l.after[d] = whole(v);
    return;
  }
  if (!v.is_array() || static_cast<int>(v.size()) != rank)
    throw Error("layer '" + l.name + "' (" + l.cls + "): '" + key + "' must be an integer, " + std::to_string(rank) +
                " integers or " + std::to_string(rank) + " pairs of integers, got " + v.dump());
  for (int d = 0; d < rank; ++d) {
    const Json& e = v[d];
    if (e.is_array()) {
      if (e.size() != 2) throw Error("layer '" + l.name + "' (" + l.cls + "): each '" + key + "' pair needs 2 integers");
      l.before[d] = whole(e[0]);
      l.after[d] = whole(e[1]);
    } else {
      l.before[d] = l.after[d] = whole(e);
    }
  }
}

LayerPtr make_spatial_copy(const Json& cfg, const std::string& cls, int rank) {
  auto l = std::make_shared<SpatialCopy>();
  l->cls = cls;
  l->rank = rank;
  apply_base_config(*l, cfg);
  const std::string df = config_lower(cfg, "data_format", "channels_last");
  if (df != "channels_last" && df != "channels_first")
    throw Error("layer '" + l->name + "' (" + cls + "): data_format must be 'channels_last' or 'channels_first', got '" + df + "'");
  l->channels_first = df == "channels_first";
  if (l->upsampling()) {
    const Json sz = cfg.get("size", Json(2));
    Json tmp = Json::object();
    tmp.set("size", sz);
    try {
      l->size = config_ints(tmp, "size", rank);
    } catch (const Error& e) {
      throw Error("layer '" + l->name + "' (" + cls + "): " + e.what());
    }
    for (int64_t s : l->size)
      if (s < 1) throw Error("layer '" + l->name + "' (" + cls + "): 'size' entries must be >= 1");
    if (cls == "UpSampling2D") {
      l->interpolation = config_lower(cfg, "interpolation", "nearest");
      if (l->interpolation != "nearest" && l->interpolation != "bilinear")
        throw Error("layer '" + l->name + "' (UpSampling2D): interpolation must be 'nearest' or 'bilinear', got '" +
                    l->interpolation + "'");
    }
  } else {
    const char* key = l->cropping() ? "cropping" : "padding";
    read_pairs(cfg.get(key, Json(l->cropping() ? 0 : 1)), rank, *l, key);
  }
  return l;
}
}  // namespace

LayerPtr make_upsampling2d(const Json& c) { return make_spatial_copy(c, "UpSampling2D", 2); }
LayerPtr make_upsampling3d(const Json& c) { return make_spatial_copy(c, "UpSampling3D", 3); }
LayerPtr make_cropping2d(const Json& c) { return make_spatial_copy(c, "Cropping2D", 2); }
LayerPtr make_cropping3d(const Json& c) { return make_spatial_copy(c, "Cropping3D", 3); }
LayerPtr make_zero_padding3d(const Json& c) { return make_spatial_copy(c, "ZeroPadding3D", 3); }
KN_REGISTER_LAYER(UpSampling2D, make_upsampling2d);
KN_REGISTER_LAYER(UpSampling3D, make_upsampling3d);
KN_REGISTER_LAYER(Cropping2D, make_cropping2d);
KN_REGISTER_LAYER(Cropping3D, make_cropping3d);
KN_REGISTER_LAYER(ZeroPadding3D, make_zero_padding3d);

}  // namespace kn
