// Source iterators: TFRecord files (named in the spec or, inside an
// interleave, by the argument element) and in-memory slices / string lists.
#include "dataset_nodes.h"

namespace kn {

namespace {

class TFRecordIterator : public Iterator {
 public:
  TFRecordIterator(std::vector<std::string> files, Compression c) : files_(std::move(files)), comp_(c) {}
  bool next(Element& out) override {
    for (;;) {
      if (!reader_.is_open()) {
        if (fi_ >= files_.size()) return false;
        name_ = std::make_shared<const std::string>(files_[fi_]);
        reader_.open(files_[fi_++], comp_);
      }
      std::string_view rec;
      if (!reader_.next_view(rec)) { reader_.close(); continue; }
      out.comps.resize(1);
      Value& v = out.comps[0];
      v.dtype = DType::String;
      v.shape.clear();
      v.s.resize(1);
      v.s[0].assign(rec.data(), rec.size());
      out.origin.file = name_;
      out.origin.compressed = reader_.compression() != Compression::None;
      out.origin.index = reader_.record_index();
      out.origin.offset = reader_.record_offset();
      return true;
    }
  }
 private:
  std::vector<std::string> files_;
  Compression comp_;
  size_t fi_ = 0;
  TFRecordReader reader_;
  std::shared_ptr<const std::string> name_;
};

class SlicesIterator : public Iterator {
 public:
  SlicesIterator(std::shared_ptr<SliceData> d, int64_t n) : d_(std::move(d)), n_(n) {}
  bool next(Element& out) override {
    if (i_ >= n_) return false;
    out.comps.resize(d_->size());
    for (size_t k = 0; k < d_->size(); ++k) {
      const Value& src = (*d_)[k];
      Value& v = out.comps[k];
      v.dtype = src.dtype;
      v.shape.assign(src.shape.begin() + 1, src.shape.end());
      const int64_t row = shape_numel(v.shape);
      const size_t a = static_cast<size_t>(i_ * row), b = a + static_cast<size_t>(row);
      if (src.dtype == DType::Float32) v.f.assign(src.f.begin() + a, src.f.begin() + b);
      else if (src.dtype == DType::String) v.s.assign(src.s.begin() + a, src.s.begin() + b);
      else v.i.assign(src.i.begin() + a, src.i.begin() + b);
    }
    out.origin = Origin();
    out.origin.index = i_++;
    return true;
  }
 private:
  std::shared_ptr<SliceData> d_;
  int64_t n_, i_ = 0;
};

}  // namespace

std::unique_ptr<Iterator> TFRecordNode::make(uint64_t, const Element* arg) const {
  if (file_arg < 0) return std::make_unique<TFRecordIterator>(files, comp);
  if (!arg || file_arg >= static_cast<int>(arg->comps.size()))
    throw Error("tfrecord_dataset: file names come from the interleave input but none was given");
  const Value& v = arg->comps[file_arg];
  if (v.dtype != DType::String) throw Error(std::string("tfrecord_dataset: file names must be strings, got ") + dtype_name(v.dtype));
  return std::make_unique<TFRecordIterator>(v.s, comp);
}

std::unique_ptr<Iterator> SlicesNode::make(uint64_t, const Element*) const {
  return std::make_unique<SlicesIterator>(d, n);
}

}  // namespace kn
