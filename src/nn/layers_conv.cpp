// Convolution layers: Conv2D, Conv1D (Conv1D is Conv2D with height 1) and
// ZeroPadding2D. Keras 2.2 semantics: cross-correlation, channels-last,
// kernel (kh, kw, in, out), TensorFlow "same" padding.
//
// Conv implementation: im2col + sgemm over blocks of output rows. The batch is
// split into tasks of whole samples (the split depends only on the batch size,
// never on the thread count); tasks run through parallel_for, each with a
// single-threaded sgemm. Backward recomputes the im2col block, accumulates a
// per-task partial dW/db and the partials are summed in task order afterwards,
// so gradients are bitwise identical whatever the number of threads.
#include <algorithm>
#include <cstring>
#include <mutex>

#include "activations.h"
#include "im2col.h"
#include "gemm.h"
#include "initializers.h"
#include "layer.h"
#include "parallel.h"

namespace kn {

namespace {

Json null_json() { return Json(); }

std::string dims_str(const std::vector<int64_t>& v) {  // {3, 5} -> "3x5"
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "x" : "") + std::to_string(v[i]);
  return s;
}

// Ints from config with a default when the key is missing or null.
std::vector<int64_t> ints_or(const Json& cfg, const std::string& key, size_t n, int64_t dflt,
                             const std::string& layer) {
  if (!cfg.has(key) || cfg[key].is_null()) return std::vector<int64_t>(n, dflt);
  try {
    return config_ints(cfg, key, n);
  } catch (const Error& e) {
    throw Error("layer '" + layer + "': " + e.what());
  }
}

// A fixed pool of per-worker buffer sets living in a node's Scratch. Buffers are
// sized before the parallel region; tasks borrow one set (any set: the result
// does not depend on which). If the backend runs more tasks at once than there
// are sets, the extra task uses its own temporary buffers.
class WorkerPool {
 public:
  // Buffer b of worker w is s.t[base + w * shapes.size() + b], at least
  // shape_numel(shapes[b]) floats (grown, never shrunk).
  WorkerPool(Scratch& s, size_t base, int64_t n_workers, const std::vector<Shape>& shapes)
      : s_(s), base_(base), per_(shapes.size()), shapes_(shapes) {
    for (int64_t w = 0; w < n_workers; ++w) {
      for (size_t b = 0; b < per_; ++b) {
        Tensor& t = s_.at(base_ + w * per_ + b);
        if (t.size() < shape_numel(shapes[b])) t.resize(shapes[b]);
      }
      free_.push_back(static_cast<int>(w));
    }
  }
  int acquire() {
    std::lock_guard<std::mutex> lock(m_);
    if (free_.empty()) return -1;
    int w = free_.back();
    free_.pop_back();
    return w;
  }
  void release(int w) {
    if (w < 0) return;
    std::lock_guard<std::mutex> lock(m_);
    free_.push_back(w);
  }
  float* buf(int w, size_t b) { return s_.t[base_ + w * per_ + b].ptr(); }
  const std::vector<Shape>& shapes() const { return shapes_; }

 private:
  Scratch& s_;
  size_t base_, per_;
  std::vector<Shape> shapes_;
  std::vector<int> free_;
  std::mutex m_;
};

// Borrowed buffer set for one task.
struct Borrow {
  WorkerPool& pool;
  int w;
  std::vector<std::vector<float>> own;  // used only when the pool was empty
  explicit Borrow(WorkerPool& p) : pool(p), w(p.acquire()) {
    if (w < 0)
      for (auto& s : p.shapes()) own.emplace_back(static_cast<size_t>(shape_numel(s)));
  }
  ~Borrow() { pool.release(w); }
  float* operator[](size_t b) { return w >= 0 ? pool.buf(w, b) : own[b].data(); }
};

constexpr int64_t kTasksPerBatch = 16;      // samples are split into at most this many tasks
constexpr int64_t kColBlockFloats = 262144;  // im2col block budget (1 MB)

}  // namespace

// ---------------------------------------------------------------- Conv2D / Conv1D
class ConvBase : public Layer {
 public:
  int rank = 2;                       // 1 = Conv1D, 2 = Conv2D
  int64_t filters = 0;
  std::vector<int64_t> kernel_size;   // (rank)
  std::vector<int64_t> strides;       // (rank)
  std::vector<int64_t> dilation;      // (rank)
  std::string padding = "valid";
  Activation act = Activation::Linear;
  bool use_bias = true;
  Json kernel_init, bias_init;

  std::string class_name() const override { return rank == 2 ? "Conv2D" : "Conv1D"; }

  // Geometry for a per-sample input shape; throws naming the layer when invalid.
  ConvGeom geometry(const Shape& s) const {
    const size_t want = static_cast<size_t>(rank) + 1;
    if (s.size() != want)
      throw Error("layer '" + name + "' (" + class_name() + ") expects inputs of shape " +
                  (rank == 2 ? "(H, W, C)" : "(steps, channels)") + " per sample, i.e. " +
                  (rank == 2 ? "(None, H, W, C)" : "(None, steps, channels)") + ", but got " +
                  shape_str(s));
    ConvGeom g;
    g.C = s.back();
    g.F = filters;
    if (rank == 2) {
      g.h.in = s[0]; g.h.k = kernel_size[0]; g.h.stride = strides[0]; g.h.dilation = dilation[0];
      g.w.in = s[1]; g.w.k = kernel_size[1]; g.w.stride = strides[1]; g.w.dilation = dilation[1];
    } else {
      g.h.in = 1;
      g.w.in = s[0]; g.w.k = kernel_size[0]; g.w.stride = strides[0]; g.w.dilation = dilation[0];
    }
    const bool ok_h = window_axis(g.h, padding);
    const bool ok_w = window_axis(g.w, padding);
    if (!ok_h || !ok_w) {
      std::vector<int64_t> in_sp = rank == 2 ? std::vector<int64_t>{g.h.in, g.w.in}
                                             : std::vector<int64_t>{g.w.in};
      std::vector<int64_t> ext = rank == 2 ? std::vector<int64_t>{g.h.extent(), g.w.extent()}
                                           : std::vector<int64_t>{g.w.extent()};
      throw Error("layer '" + name + "': kernel " + dims_str(kernel_size) + " (dilated " +
                  dims_str(ext) + ") is larger than the input " + dims_str(in_sp) +
                  " with padding '" + padding + "'");
    }
    return g;
  }

  Shape build(const std::vector<Shape>& in, Rng& rng) override {
    const Shape& s = in.at(0);
    ConvGeom g = geometry(s);
    if (!built_) {
      Shape kshape = kernel_size;   // (kh, kw, in, out) or (k, in, out)
      kshape.push_back(g.C);
      kshape.push_back(filters);
      params.resize(use_bias ? 2 : 1);
      params[0].name = "kernel";
      params[0].value = Tensor(kshape);
      int64_t fan_in = 0, fan_out = 0;
      compute_fans(kshape, fan_in, fan_out);
      initialize(params[0].value, kernel_init, fan_in, fan_out, rng);
      if (use_bias) {
        params[1].name = "bias";
        params[1].value = Tensor({filters});  // (filters)
        initialize(params[1].value, bias_init, filters, filters, rng);
      }
      for (auto& p : params) p.grad = Tensor(p.value.shape);
      built_ = true;
    } else if (params[0].value.shape[rank] != g.C) {
      throw Error("layer '" + name + "' (" + class_name() + ") was built for " +
                  std::to_string(params[0].value.shape[rank]) + " input channels but got " +
                  shape_str(s));
    }
    if (rank == 2) return Shape{g.h.out, g.w.out, filters};
    return Shape{g.w.out, filters};
  }

  // Task split (depends only on the batch size) and row block size.
  struct Plan {
    int64_t N, P, K, F, per_task, n_tasks, block_rows;
    bool identity;  // 1x1 kernel, stride 1, no padding: the input is its own im2col
  };
  Plan plan(const ConvGeom& g, int64_t N) const {
    Plan p;
    p.N = N; p.P = g.out_pixels(); p.K = g.K(); p.F = g.F;
    p.per_task = std::max<int64_t>(1, (N + kTasksPerBatch - 1) / kTasksPerBatch);
    p.n_tasks = n_chunks(N, p.per_task);
    // Rows per im2col block: the budget, but never more than a task's rows (a
    // task is per_task samples of P output rows), so the worker buffers
    // (block_rows, K) and (block_rows, F) are sized by what a task uses.
    p.block_rows = std::min(std::max<int64_t>(1, kColBlockFloats / p.K), p.per_task * p.P);
    p.identity = g.h.k == 1 && g.w.k == 1 && g.h.stride == 1 && g.w.stride == 1 &&
                 g.h.pad_before == 0 && g.w.pad_before == 0 && g.h.out == g.h.in && g.w.out == g.w.in;
    return p;
  }

  static void gemm(bool single, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
    if (single) sgemm_st(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
    else sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, H, W, C) or (N, L, C)
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    const Plan p = plan(g, x.shape[0]);
    const float* W = params[0].value.ptr();                // (K, F)
    const float* b = use_bias ? params[1].value.ptr() : nullptr;  // (F)
    float* y = out.ptr();                                  // (N*P, F)
    const bool single = p.n_tasks > 1;                     // parallel over tasks, else inside gemm
    const int64_t n_workers = std::min<int64_t>(p.n_tasks, std::max(1, num_threads()));
    // Worker buffers (shared layout with backward): col block (R, K).
    WorkerPool pool(*ctx.scratch, 2, n_workers,
                    p.identity ? std::vector<Shape>{} : std::vector<Shape>{Shape{p.block_rows, p.K}});
    parallel_for(p.n_tasks, [&](int64_t t) {
      const int64_t r_begin = t * p.per_task * p.P;
      const int64_t r_end = std::min(p.N, (t + 1) * p.per_task) * p.P;
      Borrow bufs(pool);
      for (int64_t r0 = r_begin; r0 < r_end; r0 += p.block_rows) {
        const int64_t r1 = std::min(r_end, r0 + p.block_rows), rr = r1 - r0;
        const float* col;                                  // (rr, K)
        if (p.identity) {
          col = x.ptr() + r0 * p.K;
        } else {
          im2col_rows(g, x.ptr(), r0, r1, bufs[0]);
          col = bufs[0];
        }
        float* yb = y + r0 * p.F;                          // (rr, F)
        gemm(single, false, false, rr, p.F, p.K, col, p.K, W, p.F, 0.0f, yb, p.F);
        // bias and activation (ReLU fused, branch-free)
        bias_relu_rows(yb, rr, p.F, b, act == Activation::Relu);
        if (act != Activation::Relu) activation_forward(act, yb, rr, p.F);
      }
    });
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    const Tensor& x = *in[0];  // (N, H, W, C) or (N, L, C)
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    const Plan p = plan(g, x.shape[0]);
    const bool want_params = trainable;
    float* dx = din[0] ? din[0]->ptr() : nullptr;          // (N, H, W, C)
    if (!want_params && !dx) return;
    const float* W = params[0].value.ptr();                // (K, F)
    const bool single = p.n_tasks > 1;
    Scratch& s = *ctx.scratch;
    const int64_t n_workers = std::min<int64_t>(p.n_tasks, std::max(1, num_threads()));
    // Worker buffers: col (R, K), dz (R, F), dcol (R, K). Created first: it may
    // grow s.t, which would invalidate references taken before.
    WorkerPool pool(s, 2, n_workers,
                    {Shape{p.identity ? 0 : p.block_rows, p.K}, Shape{p.block_rows, p.F},
                     Shape{p.identity ? 0 : p.block_rows, p.K}});
    Tensor& dw_part = s.at(0);                             // (T, K, F) per-task partial dW
    Tensor& db_part = s.at(1);                             // (T, F) per-task partial db
    if (want_params) {
      dw_part.resize({p.n_tasks, p.K, p.F});
      db_part.resize({p.n_tasks, p.F});
    }
    parallel_for(p.n_tasks, [&](int64_t t) {
      const int64_t r_begin = t * p.per_task * p.P;
      const int64_t r_end = std::min(p.N, (t + 1) * p.per_task) * p.P;
      Borrow bufs(pool);
      float* dw = want_params ? dw_part.ptr() + t * p.K * p.F : nullptr;  // (K, F)
      float* db = want_params ? db_part.ptr() + t * p.F : nullptr;        // (F)
      if (db) std::fill(db, db + p.F, 0.0f);
      bool first = true;
      for (int64_t r0 = r_begin; r0 < r_end; r0 += p.block_rows) {
        const int64_t r1 = std::min(r_end, r0 + p.block_rows), rr = r1 - r0;
        // dz (rr, F): gradient before the activation.
        const float* dz;
        if (act == Activation::Linear) {
          dz = dout.ptr() + r0 * p.F;
        } else if (act == Activation::Relu) {
          relu_backward(out.ptr() + r0 * p.F, dout.ptr() + r0 * p.F, bufs[1], rr * p.F);
          dz = bufs[1];
        } else {
          activation_backward(act, out.ptr() + r0 * p.F, dout.ptr() + r0 * p.F, bufs[1], rr, p.F);
          dz = bufs[1];
        }
        if (want_params) {
          const float* col;                                // (rr, K)
          if (p.identity) {
            col = x.ptr() + r0 * p.K;
          } else {
            im2col_rows(g, x.ptr(), r0, r1, bufs[0]);
            col = bufs[0];
          }
          // dW (K, F) (+)= col^T (K, rr) * dz (rr, F)
          gemm(single, true, false, p.K, p.F, rr, col, p.K, dz, p.F, first ? 0.0f : 1.0f, dw, p.F);
          if (use_bias)
            for (int64_t r = 0; r < rr; ++r) add_scaled(db, dz + r * p.F, 1.0f, p.F);
        }
        if (dx) {
          if (p.identity) {
            // dx (rr, K) += dz (rr, F) * W^T (F, K)
            gemm(single, false, true, rr, p.K, p.F, dz, p.F, W, p.F, 1.0f, dx + r0 * p.K, p.K);
          } else {
            gemm(single, false, true, rr, p.K, p.F, dz, p.F, W, p.F, 0.0f, bufs[2], p.K);
            col2im_rows_add(g, bufs[2], r0, r1, dx);
          }
        }
        first = false;
      }
    });
    if (!want_params) return;
    // Sum the partials in task order (fixed), parallel over disjoint element ranges.
    const int64_t KF = p.K * p.F, grain = 4096, T = p.n_tasks;
    float* gw = params[0].grad.ptr();                      // (K, F)
    parallel_for(n_chunks(KF, grain), [&](int64_t c) {
      const int64_t lo = c * grain, hi = std::min(KF, lo + grain);
      for (int64_t t = 0; t < T; ++t) {
        const float* src = dw_part.ptr() + t * KF;
        for (int64_t e = lo; e < hi; ++e) gw[e] += src[e];
      }
    });
    if (use_bias) {
      float* gb = params[1].grad.ptr();                    // (F)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t f = 0; f < p.F; ++f) gb[f] += db_part.data[t * p.F + f];
    }
  }

  Json config() const override {
    Json c = base_config();
    c.set("filters", filters);
    c.set("kernel_size", json_ints(kernel_size));
    c.set("strides", json_ints(strides));
    c.set("padding", padding);
    c.set("data_format", "channels_last");
    c.set("dilation_rate", json_ints(dilation));
    c.set("activation", activation_name(act));
    c.set("use_bias", use_bias);
    c.set("kernel_initializer", kernel_init);
    c.set("bias_initializer", bias_init);
    c.set("kernel_regularizer", null_json());
    c.set("bias_regularizer", null_json());
    c.set("activity_regularizer", null_json());
    c.set("kernel_constraint", null_json());
    c.set("bias_constraint", null_json());
    return c;
  }
};

class Conv2D : public ConvBase {
 public:
  Conv2D() { rank = 2; }
};
class Conv1D : public ConvBase {
 public:
  Conv1D() { rank = 1; }
};

namespace {
void parse_conv(ConvBase& l, const Json& cfg) {
  apply_base_config(l, cfg);
  const size_t r = static_cast<size_t>(l.rank);
  const std::string cls = l.class_name();
  l.filters = config_count(cfg, "filters", l);
  if (l.filters <= 0) throw Error("layer '" + l.name + "': filters must be a positive integer");
  if (!cfg.has("kernel_size") || cfg["kernel_size"].is_null())
    throw Error("layer '" + l.name + "' (" + cls + "): kernel_size is required");
  l.kernel_size = ints_or(cfg, "kernel_size", r, 1, l.name);
  l.strides = ints_or(cfg, "strides", r, 1, l.name);
  l.dilation = ints_or(cfg, "dilation_rate", r, 1, l.name);
  for (size_t i = 0; i < r; ++i)
    if (l.kernel_size[i] < 1 || l.strides[i] < 1 || l.dilation[i] < 1)
      throw Error("layer '" + l.name + "': kernel_size, strides and dilation_rate must be positive");
  int64_t ext;  // dilated window length - 1, bounded so window arithmetic cannot overflow
  for (size_t i = 0; i < r; ++i)
    if (!size_mul(l.kernel_size[i] - 1, l.dilation[i], &ext) || l.strides[i] > kMaxNumel)
      throw Error("layer '" + l.name + "' (" + cls + "): kernel_size " + dims_text(l.kernel_size) +
                  ", strides " + dims_text(l.strides) + " and dilation_rate " + dims_text(l.dilation) +
                  " are too large (dilated kernel and strides must stay below 2^36)");
  l.padding = config_lower(cfg, "padding", "valid");
  const bool pad_ok = l.padding == "valid" || l.padding == "same" || (l.rank == 1 && l.padding == "causal");
  if (!pad_ok)
    throw Error("layer '" + l.name + "' (" + cls + "): padding must be " +
                (l.rank == 1 ? "'valid', 'same' or 'causal'" : "'valid' or 'same'") + ", got '" +
                l.padding + "'");
  const std::string df = config_lower(cfg, "data_format", "channels_last");
  if (df != "channels_last")
    throw Error("layer '" + l.name + "' (" + cls + "): data_format '" + df +
                "' is not supported; only 'channels_last' (N, ..., C) inputs are");
  const Json a = cfg.get("activation", Json("linear"));
  l.act = activation_from_name(a.is_string() ? a.as_string() : "linear");
  l.use_bias = cfg.get("use_bias", Json(true)).as_bool();
  l.kernel_init = initializer_config(cfg.get("kernel_initializer", Json("glorot_uniform")));
  l.bias_init = initializer_config(cfg.get("bias_initializer", Json("zeros")));
}
}  // namespace

LayerPtr make_conv2d(const Json& cfg) {
  auto l = std::make_shared<Conv2D>();
  parse_conv(*l, cfg);
  return l;
}
LayerPtr make_conv1d(const Json& cfg) {
  auto l = std::make_shared<Conv1D>();
  parse_conv(*l, cfg);
  return l;
}
KN_REGISTER_LAYER(Conv2D, make_conv2d);
KN_REGISTER_LAYER(Conv1D, make_conv1d);

// ---------------------------------------------------------------- ZeroPadding2D
class ZeroPadding2D : public Layer {
 public:
  int64_t top = 1, bottom = 1, left = 1, right = 1;
  std::string class_name() const override { return "ZeroPadding2D"; }

  Shape build(const std::vector<Shape>& in, Rng&) override {
    const Shape& s = in.at(0);
    if (s.size() != 3)
      throw Error("layer '" + name + "' (ZeroPadding2D) expects inputs of shape (H, W, C) per sample, "
                  "i.e. (None, H, W, C), but got " + shape_str(s));
    built_ = true;
    return Shape{s[0] + top + bottom, s[1] + left + right, s[2]};
  }

  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, H, W, C)
    const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
    const int64_t OH = H + top + bottom, OW = W + left + right;
    out.zero();                // (N, OH, OW, C)
    parallel_for(N, [&](int64_t n) {
      for (int64_t h = 0; h < H; ++h) {
        const float* src = x.ptr() + ((n * H + h) * W) * C;
        float* dst = out.ptr() + ((n * OH + h + top) * OW + left) * C;
        std::copy(src, src + W * C, dst);
      }
    });
  }

  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor&,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const Tensor& x = *in[0];  // (N, H, W, C)
    const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
    const int64_t OH = H + top + bottom, OW = W + left + right;
    float* dx = din[0]->ptr();
    parallel_for(N, [&](int64_t n) {
      for (int64_t h = 0; h < H; ++h) {
        const float* src = dout.ptr() + ((n * OH + h + top) * OW + left) * C;
        float* dst = dx + ((n * H + h) * W) * C;
        for (int64_t i = 0; i < W * C; ++i) dst[i] += src[i];
      }
    });
  }

  Json config() const override {
    Json c = base_config();
    Json pad = Json::array();
    pad.push(json_ints({top, bottom}));
    pad.push(json_ints({left, right}));
    c.set("padding", pad);
    c.set("data_format", "channels_last");
    return c;
  }
};

LayerPtr make_zero_padding2d(const Json& cfg) {
  auto l = std::make_shared<ZeroPadding2D>();
  apply_base_config(*l, cfg);
  const Json p = cfg.get("padding", Json(1));
  auto bad = [&]() {
    return Error("layer '" + l->name + "' (ZeroPadding2D): padding must be an integer, "
                 "(symmetric_height, symmetric_width) or ((top, bottom), (left, right)), got " +
                 p.dump());
  };
  if (p.is_number()) {
    l->top = l->bottom = l->left = l->right = p.as_int();
  } else if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number()) {
    l->top = l->bottom = p[0].as_int();
    l->left = l->right = p[1].as_int();
  } else if (p.is_array() && p.size() == 2 && p[0].is_array() && p[1].is_array() &&
             p[0].size() == 2 && p[1].size() == 2) {
    l->top = p[0][0].as_int(); l->bottom = p[0][1].as_int();
    l->left = p[1][0].as_int(); l->right = p[1][1].as_int();
  } else {
    throw bad();
  }
  for (int64_t v : {l->top, l->bottom, l->left, l->right})
    if (v < 0 || v > kMaxNumel) throw bad();
  const std::string df = config_lower(cfg, "data_format", "channels_last");
  if (df != "channels_last")
    throw Error("layer '" + l->name + "' (ZeroPadding2D): data_format '" + df +
                "' is not supported; only 'channels_last' (N, H, W, C) inputs are");
  return l;
}
KN_REGISTER_LAYER(ZeroPadding2D, make_zero_padding2d);

}  // namespace kn
