/* A libpng helper for the tests (not a plugin): they dlopen() it to make
 * input PNGs and to read grayscale's output without linking libpng. Every
 * variable the functions change after setjmp() is set before it. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobd/task.h"

static void quiet(png_structp png, png_const_charp message) {
  (void)png;
  (void)message;
}

static void jump(png_structp png, png_const_charp message) {
  (void)message;
  png_longjmp(png, 1);
}

static int channels_of(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_PALETTE: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 0;
  }
}

/* Writes `data` (height rows, each packed as the PNG stores it: big-endian
 * 16-bit samples, sub-byte samples packed MSB first) as a PNG of that color
 * type and depth. `palette` holds palette_entries RGB triples and `trns`
 * trns_count alphas (palette images only). 0 on success, -1 on failure. */
JOBD_PLUGIN_EXPORT int jobd_test_write_png(const char* path, unsigned width, unsigned height,
                                           int color_type, int bit_depth, int interlaced,
                                           const unsigned char* data,
                                           const unsigned char* palette, int palette_entries,
                                           const unsigned char* trns, int trns_count) {
  const size_t rowbytes = ((size_t)width * (size_t)channels_of(color_type) * (size_t)bit_depth + 7) / 8;
  png_bytepp rows = malloc(sizeof(png_bytep) * height);
  FILE* file = fopen(path, "wb");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, jump, quiet);
  png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
  if (rows == NULL || file == NULL || info == NULL) goto fail;
  for (unsigned y = 0; y < height; ++y) rows[y] = (png_bytep)(data + y * rowbytes);
  if (setjmp(png_jmpbuf(png))) goto fail;
  png_init_io(png, file);
  png_set_IHDR(png, info, width, height, bit_depth, color_type,
               interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    png_color colors[256];
    for (int i = 0; i < palette_entries && i < 256; ++i) {
      colors[i].red = palette[3 * i];
      colors[i].green = palette[3 * i + 1];
      colors[i].blue = palette[3 * i + 2];
    }
    png_set_PLTE(png, info, colors, palette_entries);
    if (trns_count > 0) png_set_tRNS(png, info, trns, trns_count, NULL);
  }
  png_write_info(png, info);
  png_set_interlace_handling(png);
  png_write_image(png, rows);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  free(rows);
  return fclose(file) == 0 ? 0 : -1;

fail:
  if (png != NULL) png_destroy_write_struct(&png, info != NULL ? &info : NULL);
  free(rows);
  if (file != NULL) fclose(file);
  return -1;
}

/* Reads a non-interlaced PNG as stored (no transforms): its header, and its
 * rows packed into `pixels` when they fit in `capacity` bytes. Returns the
 * bytes of pixel data, or -1 when the file cannot be read or is too big. */
JOBD_PLUGIN_EXPORT long jobd_test_read_png(const char* path, unsigned* width, unsigned* height,
                                           int* color_type, int* bit_depth,
                                           unsigned char* pixels, size_t capacity) {
  FILE* file = fopen(path, "rb");
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, jump, quiet);
  png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
  if (file == NULL || info == NULL) goto fail;
  if (setjmp(png_jmpbuf(png))) goto fail;
  png_init_io(png, file);
  png_read_info(png, info);
  *width = png_get_image_width(png, info);
  *height = png_get_image_height(png, info);
  *color_type = png_get_color_type(png, info);
  *bit_depth = png_get_bit_depth(png, info);
  if (png_get_interlace_type(png, info) != PNG_INTERLACE_NONE) goto fail;
  {
    const size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes * *height > capacity) goto fail;
    for (unsigned y = 0; y < *height; ++y) png_read_row(png, pixels + y * rowbytes, NULL);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    return (long)(rowbytes * *height);
  }

fail:
  if (png != NULL) png_destroy_read_struct(&png, info != NULL ? &info : NULL, NULL);
  if (file != NULL) fclose(file);
  return -1;
}
