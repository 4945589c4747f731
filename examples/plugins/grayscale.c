/*
 * grayscale PATH...: converts each PNG to 8-bit grayscale, written next to it
 * as <stem>.gray.png (a.png -> a.gray.png); returns the output paths joined
 * by single spaces. The first file that fails ends the task with an error
 * naming it (outputs already written stay).
 *
 * Any PNG libpng reads is accepted: palette, gray of 1-16 bits, RGB(A) of 8
 * or 16 bits, interlaced or not. Transforms bring it to 8-bit RGB: palette
 * and low-depth gray expanded, 16 bits stripped to the high byte, gray
 * copied to R, G and B, alpha (and tRNS) dropped: alpha is ignored, not
 * composited. No gamma correction is applied (the stored values are used).
 *
 * Luma is ITU-R 601-2, computed exactly as Pillow's Image.convert("L")
 * (libImaging/Convert.c, L24 = 0.299, 0.587, 0.114 in 16-bit fixed point,
 * rounded half up):
 *     L = (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16
 * The weights sum to 65536, so gray input comes out unchanged.
 *
 * libpng reports errors by longjmp(). The functions that call setjmp() keep
 * every resource in a struct owned by their caller, reached through a
 * pointer, so its values are well defined after the jump (C11 7.13.2.1p3
 * concerns only the setjmp caller's own non-volatile locals), and the caller
 * releases them. This file is C: no destructor is ever skipped.
 */
#define _POSIX_C_SOURCE 200809L /* getpid, unlink, sigaction in strict C11 */

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobd/task.h"

/* Beyond this many pixels an image is refused rather than allocated
 * (3 bytes each while converting): 2^27 pixels is 384 MiB. */
#define MAX_PIXELS ((size_t)1 << 27)

typedef struct {
  const char* path;  /* for messages */
  char error[512];   /* set by on_error or by the code */
  FILE* file;
  png_structp png;
  png_infop info;
  png_bytep pixels;  /* height * rowbytes; RGB, then gray in place */
  png_bytepp rows;
  png_uint_32 width, height;
  size_t rowbytes;
} image;

static void on_error(png_structp png, png_const_charp message) {
  image* img = (image*)png_get_error_ptr(png);
  snprintf(img->error, sizeof img->error, "%s: %s", img->path, message);
  png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
  (void)png;
  (void)message; /* warnings (e.g. a bad iCCP chunk) do not stop the read */
}

/* Frees the buffers and closes the file; the png structs are destroyed by
 * gray_one() as soon as each is done with. */
static void release(image* img) {
  free(img->rows);
  free(img->pixels);
  img->rows = NULL;
  img->pixels = NULL;
  if (img->file != NULL) fclose(img->file);
  img->file = NULL;
}

/* Reads img->path as 8-bit RGB into img->pixels. 0 on success; otherwise -1
 * with img->error set. The caller destroys img->png/info and calls release(). */
static int read_rgb(image* img) {
  unsigned char signature[8];
  img->file = fopen(img->path, "rb");
  if (img->file == NULL) {
    snprintf(img->error, sizeof img->error, "%s: cannot open: %s", img->path, strerror(errno));
    return -1;
  }
  if (fread(signature, 1, sizeof signature, img->file) != sizeof signature ||
      png_sig_cmp(signature, 0, sizeof signature) != 0) {
    snprintf(img->error, sizeof img->error, "%s: not a PNG file", img->path);
    return -1;
  }
  img->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, img, on_error, on_warning);
  if (img->png == NULL) {
    snprintf(img->error, sizeof img->error, "%s: out of memory", img->path);
    return -1;
  }
  img->info = png_create_info_struct(img->png);
  if (img->info == NULL) {
    snprintf(img->error, sizeof img->error, "%s: out of memory", img->path);
    return -1;
  }
  if (setjmp(png_jmpbuf(img->png))) return -1; /* img->error set by on_error */

  png_init_io(img->png, img->file);
  png_set_sig_bytes(img->png, sizeof signature);
  png_read_info(img->png, img->info);
  img->width = png_get_image_width(img->png, img->info);
  img->height = png_get_image_height(img->png, img->info);
  const int color_type = png_get_color_type(img->png, img->info);
  const int bit_depth = png_get_bit_depth(img->png, img->info);

  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(img->png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(img->png);
  if (bit_depth == 16) png_set_strip_16(img->png);
  if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) {
    png_set_gray_to_rgb(img->png);
  }
  /* Alpha, whether a channel or expanded from tRNS, is dropped unblended. */
  png_set_strip_alpha(img->png);
  png_set_interlace_handling(img->png);
  png_read_update_info(img->png, img->info);

  if (png_get_channels(img->png, img->info) != 3 ||
      png_get_bit_depth(img->png, img->info) != 8) {
    snprintf(img->error, sizeof img->error, "%s: cannot convert this PNG to 8-bit RGB",
             img->path);
    return -1;
  }
  if (img->width == 0 || img->height == 0 || (size_t)img->width > MAX_PIXELS / img->height) {
    snprintf(img->error, sizeof img->error, "%s: %lux%lu pixels is too large (limit %zu)",
             img->path, (unsigned long)img->width, (unsigned long)img->height, MAX_PIXELS);
    return -1;
  }
  img->rowbytes = png_get_rowbytes(img->png, img->info);
  img->pixels = malloc(img->rowbytes * img->height);
  img->rows = malloc(sizeof(png_bytep) * img->height);
  if (img->pixels == NULL || img->rows == NULL) {
    snprintf(img->error, sizeof img->error, "%s: out of memory", img->path);
    return -1;
  }
  for (png_uint_32 y = 0; y < img->height; ++y) img->rows[y] = img->pixels + y * img->rowbytes;
  png_read_image(img->png, img->rows);
  png_read_end(img->png, NULL);
  return 0;
}

/* Each row's RGB triples become gray bytes at the start of the same row. */
static void to_gray(image* img) {
  for (png_uint_32 y = 0; y < img->height; ++y) {
    png_bytep row = img->rows[y];
    for (png_uint_32 x = 0; x < img->width; ++x) {
      const uint32_t r = row[3 * x], g = row[3 * x + 1], b = row[3 * x + 2];
      row[x] = (png_byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
    }
  }
}

/* Writes the gray rows to `path` as an 8-bit gray PNG. 0 or -1 as read_rgb;
 * the caller destroys img->png/info (a write struct here). */
static int write_gray(image* img, const char* path) {
  img->file = fopen(path, "wb");
  if (img->file == NULL) {
    snprintf(img->error, sizeof img->error, "%s: cannot create %s: %s", img->path, path,
             strerror(errno));
    return -1;
  }
  img->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, img, on_error, on_warning);
  if (img->png == NULL) {
    snprintf(img->error, sizeof img->error, "%s: out of memory", img->path);
    return -1;
  }
  img->info = png_create_info_struct(img->png);
  if (img->info == NULL) {
    snprintf(img->error, sizeof img->error, "%s: out of memory", img->path);
    return -1;
  }
  if (setjmp(png_jmpbuf(img->png))) return -1;

  png_init_io(img->png, img->file);
  png_set_IHDR(img->png, img->info, img->width, img->height, 8, PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(img->png, img->info);
  png_write_image(img->png, img->rows);
  png_write_end(img->png, NULL);
  return 0;
}

/* "dir/a.png" -> "dir/a.gray.png"; the extension is looked for in the last
 * component only, and a leading dot is not one ("dir/.x" -> "dir/.x.gray.png").
 * NULL when out of memory. */
static char* gray_path(const char* path) {
  const char* base = strrchr(path, '/');
  base = base != NULL ? base + 1 : path;
  const char* dot = strrchr(base, '.');
  const size_t stem = (dot != NULL && dot != base) ? (size_t)(dot - path) : strlen(path);
  static const char suffix[] = ".gray.png";
  char* out = malloc(stem + sizeof suffix);
  if (out == NULL) return NULL;
  memcpy(out, path, stem);
  memcpy(out + stem, suffix, sizeof suffix);
  return out;
}

/* Converts one file; on success appends its output path to `out`. */
static int gray_one(const char* path, jobd_output* out, int first) {
  image img;
  memset(&img, 0, sizeof img);
  img.path = path;

  int rc = read_rgb(&img);
  png_destroy_read_struct(img.png != NULL ? &img.png : NULL, img.info != NULL ? &img.info : NULL,
                          NULL);
  img.png = NULL;
  img.info = NULL;
  if (img.file != NULL) fclose(img.file);
  img.file = NULL;

  char* target = NULL;
  char* temp = NULL;
  if (rc == 0) {
    to_gray(&img);
    target = gray_path(path);
    /* Written under a temporary name and renamed: a reader never sees half
     * a file, and a failure leaves no output behind. */
    temp = target != NULL ? malloc(strlen(target) + 32) : NULL;
    if (temp == NULL) {
      snprintf(img.error, sizeof img.error, "%s: out of memory", path);
      rc = -1;
    } else {
      snprintf(temp, strlen(target) + 32, "%s.tmp.%ld", target, (long)getpid());
      rc = write_gray(&img, temp);
      png_destroy_write_struct(img.png != NULL ? &img.png : NULL,
                               img.info != NULL ? &img.info : NULL);
      img.png = NULL;
      img.info = NULL;
      if (img.file != NULL && fclose(img.file) != 0 && rc == 0) {
        snprintf(img.error, sizeof img.error, "%s: cannot write %s: %s", path, temp,
                 strerror(errno));
        rc = -1;
      }
      img.file = NULL;
      if (rc == 0 && rename(temp, target) != 0) {
        snprintf(img.error, sizeof img.error, "%s: cannot rename %s to %s: %s", path, temp,
                 target, strerror(errno));
        rc = -1;
      }
      if (rc != 0) unlink(temp);
    }
  }
  release(&img);

  if (rc == 0) {
    if (!first) jobd_output_append(out, " ", 1);
    jobd_output_append(out, target, strlen(target));
  } else {
    char message[600];
    snprintf(message, sizeof message, "grayscale: %s", img.error);
    jobd_output_error(out, message);
  }
  free(temp);
  free(target);
  return rc;
}

static void grayscale(const char* const* args, size_t arg_count, jobd_output* out) {
  if (arg_count == 0) {
    jobd_output_error(out, "grayscale takes 1 or more arguments (PATH...), got 0");
    return;
  }
  for (size_t i = 0; i < arg_count; ++i) {
    if (gray_one(args[i], out, i == 0) != 0) return;
  }
}

static const jobd_task kTasks[] = {
    {"grayscale", "PATH...: each PNG to 8-bit grayscale as <stem>.gray.png (Pillow's L)",
     grayscale},
};

JOBD_PLUGIN_EXPORT const jobd_task* jobd_plugin_tasks(int* abi_version, size_t* count) {
  *abi_version = JOBD_TASK_ABI_VERSION;
  *count = sizeof kTasks / sizeof kTasks[0];
  return kTasks;
}
