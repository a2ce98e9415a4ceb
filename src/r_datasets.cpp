// Rcpp glue for the dataset file readers (formats/idx.*, formats/npy.*) used
// by dataset_mnist() and dataset_fashion_mnist().
#include <Rcpp.h>

#include <string>
#include <vector>

#include "idx.h"
#include "npy.h"
#include "r_convert.h"

using namespace Rcpp;

// [[Rcpp::export]]
SEXP cpp_read_idx(std::string path) {
  return knr::num_array_to_r(kn::read_idx(path));
}

// `name`: how errors call the file.
// [[Rcpp::export]]
SEXP cpp_read_npy(std::string path, std::string name) {
  kn::FileSource f(path, ".npy file");
  return knr::num_array_to_r(kn::parse_npy(f, name));
}

// [[Rcpp::export]]
List cpp_read_npz(std::string path, std::vector<std::string> members) {
  std::vector<kn::NumArray> arrays = kn::read_npz(path, members);
  List out(arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) out[i] = knr::num_array_to_r(arrays[i]);
  out.names() = wrap(members);
  return out;
}
