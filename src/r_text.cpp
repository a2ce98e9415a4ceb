// Rcpp glue for text preprocessing helpers (core/md5.*).
#include <Rcpp.h>

#include <string>

#include "md5.h"

using namespace Rcpp;

// Keras's md5 hashing trick: int(md5(w).hexdigest(), 16) % m + 1 for each word
// (UTF-8 bytes), with m = n - 1 >= 1.
// [[Rcpp::export]]
NumericVector cpp_md5_hash_index(CharacterVector words, double m) {
  NumericVector out(words.size());
  const uint64_t mm = static_cast<uint64_t>(m);
  for (R_xlen_t i = 0; i < words.size(); ++i)
    out[i] = static_cast<double>(kn::md5_mod(std::string(Rf_translateCharUTF8(words[i])), mm) + 1);
  return out;
}

// [[Rcpp::export]]
CharacterVector cpp_md5_hex(CharacterVector x) {
  CharacterVector out(x.size());
  for (R_xlen_t i = 0; i < x.size(); ++i) out[i] = kn::md5_hex(std::string(Rf_translateCharUTF8(x[i])));
  return out;
}
