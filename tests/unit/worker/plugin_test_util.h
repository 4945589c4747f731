// Helpers for the tests of plugins (unit and integration): where the built
// plugins are, a temporary directory, and PNG files read and written through
// the test helper library lib/jobd/test-helpers/pngio.so
// (examples/plugins/testing/pngio.c), so that the test binaries need not
// link libpng. Header only; needs JOBD_BIN_DIR (the build's bin directory).
#pragma once

#include <dlfcn.h>
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/unit/scratch_dir.h"

namespace jobd::plugin_testing {

// ${CMAKE_BINARY_DIR}/lib/jobd/<sub>, from the bin directory next to it.
inline std::string LibDir(const std::string& sub) {
  return std::filesystem::weakly_canonical(std::string(JOBD_BIN_DIR) + "/../lib/jobd/" + sub)
      .string();
}
inline std::string ExamplePluginDir() { return LibDir("plugins"); }
inline std::string TestPluginDir() { return LibDir("test-plugins"); }

using ::jobd::ScratchDir;

// Copies `from` to `dir`/`name`; returns the new path.
inline std::string CopyInto(const std::string& from, const std::string& dir,
                            const std::string& name) {
  const std::string to = dir + "/" + name;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  return to;
}

inline void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

// PNG color types, as in png.h.
enum PngColorType : int { kGray = 0, kRgb = 2, kPalette = 3, kGrayAlpha = 4, kRgba = 6 };

struct PngImage {
  unsigned width = 0, height = 0;
  int color_type = -1, bit_depth = 0;
  std::vector<uint8_t> pixels;  // rows as stored, packed
};

// The functions of pngio.so; the library stays loaded.
class PngIo {
 public:
  PngIo() {
    const std::string path = LibDir("test-helpers/pngio.so");
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) throw std::runtime_error(dlerror());
    write_ = reinterpret_cast<WriteFn>(dlsym(library, "jobd_test_write_png"));
    read_ = reinterpret_cast<ReadFn>(dlsym(library, "jobd_test_read_png"));
    if (write_ == nullptr || read_ == nullptr) throw std::runtime_error(path + ": no symbols");
  }

  // `pixels`: rows packed as stored. Palette images take RGB triples and
  // alphas for tRNS.
  bool Write(const std::string& path, unsigned width, unsigned height, int color_type,
             int bit_depth, const std::vector<uint8_t>& pixels, bool interlaced = false,
             const std::vector<uint8_t>& palette = {},
             const std::vector<uint8_t>& trns = {}) const {
    return write_(path.c_str(), width, height, color_type, bit_depth, interlaced ? 1 : 0,
                  pixels.data(), palette.data(), static_cast<int>(palette.size() / 3),
                  trns.data(), static_cast<int>(trns.size())) == 0;
  }

  // nullopt-like: an image with color_type -1 when it cannot be read.
  PngImage Read(const std::string& path) const {
    PngImage image;
    std::vector<uint8_t> buffer(1 << 20);
    const long size = read_(path.c_str(), &image.width, &image.height, &image.color_type,
                            &image.bit_depth, buffer.data(), buffer.size());
    if (size < 0) return PngImage{};
    buffer.resize(static_cast<size_t>(size));
    image.pixels = std::move(buffer);
    return image;
  }

 private:
  using WriteFn = int (*)(const char*, unsigned, unsigned, int, int, int, const unsigned char*,
                          const unsigned char*, int, const unsigned char*, int);
  using ReadFn = long (*)(const char*, unsigned*, unsigned*, int*, int*, unsigned char*, size_t);
  WriteFn write_ = nullptr;
  ReadFn read_ = nullptr;
};

// Pillow's Image.convert("L") for one RGB pixel (examples/plugins/grayscale.c).
inline uint8_t Luma(uint32_t r, uint32_t g, uint32_t b) {
  return static_cast<uint8_t>((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

}  // namespace jobd::plugin_testing
