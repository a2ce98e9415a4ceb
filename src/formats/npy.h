// NumPy .npy files and .npz archives (a zip of .npy files, stored or
// deflated), read without Python.
//   .npy: "\x93NUMPY" | major, minor | header length (uint16 LE for 1.x,
//         uint32 LE for 2.x/3.x) | Python dict literal
//         {'descr': '<u1', 'fortran_order': False, 'shape': (60000, 28, 28), } | values
// dtypes: b1, i1/i2/i4/i8, u1/u2/u4/u8, f4/f8 in any byte order. Integers of up
// to 4 bytes (but u4) become int32, u4/i8/u8 and floats become double (exact
// up to 2^53). Every declared size is checked against the bytes really present;
// no buffer is sized by a claim alone.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "byte_source.h"
#include "num_array.h"

namespace kn {

// Errors: "invalid .npy file '<name>': <problem> (at byte offset N)".
NumArray parse_npy(ByteSource& src, const std::string& name);
NumArray read_npy(const std::string& path);

// Central-directory entry of a zip archive.
struct ZipEntry {
  std::string name;
  int method = 0;               // 0 stored, 8 deflated
  uint32_t crc = 0;
  uint64_t csize = 0, usize = 0, local_offset = 0;
};
// Errors: "invalid .npz file '<name>': ...".
std::vector<ZipEntry> zip_entries(std::string_view zip, const std::string& name);
// Member `e` of `zip` parsed as .npy (CRC and sizes checked).
NumArray npz_member(std::string_view zip, const ZipEntry& e, const std::string& name);
// Members "<m>.npy" of the archive at `path`, in the order asked; missing
// members are an error listing what the archive holds.
std::vector<NumArray> read_npz(const std::string& path, const std::vector<std::string>& members);

}  // namespace kn
