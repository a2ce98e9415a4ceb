// IDX files (the original MNIST / Fashion-MNIST format), plain or gzipped:
//   magic 00 00 TT DD | DD big-endian uint32 dimension sizes | values, big-endian, row-major
// with TT the value type: 08 uint8, 09 int8, 0B int16, 0C int32, 0D float32, 0E float64.
// Every header field is checked against the data that is really there: a
// header claiming more values than the file holds is an error naming the file
// and the byte offset, and no buffer is ever sized by the claim alone.
#pragma once
#include <string>

#include "byte_source.h"
#include "num_array.h"

namespace kn {

// Errors: "invalid IDX file '<name>': <problem> (at byte offset N)".
NumArray parse_idx(ByteSource& src, const std::string& name);
// A file on disk; gzip is detected from the content (1f 8b), not the name.
NumArray read_idx(const std::string& path);

}  // namespace kn
