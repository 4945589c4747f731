/*
 * sha256 PATH: the SHA-256 of the file's contents as 64 lowercase hex digits
 * (what `sha256sum` prints first). The file is read in 64 KiB chunks, so any
 * size takes constant memory. Uses OpenSSL's EVP interface (libcrypto).
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "jobd/task.h"

static void fail(jobd_output* out, const char* path, const char* what, const char* why) {
  char message[1024];
  snprintf(message, sizeof message, "sha256: %s: %s%s%s", path, what, why ? ": " : "",
           why ? why : "");
  jobd_output_error(out, message);
}

static void sha256(const char* const* args, size_t arg_count, jobd_output* out) {
  if (arg_count != 1) {
    char message[128];
    snprintf(message, sizeof message, "sha256 takes 1 argument (PATH), got %zu", arg_count);
    jobd_output_error(out, message);
    return;
  }
  const char* path = args[0];
  FILE* file = fopen(path, "rb");
  if (file == NULL) {
    fail(out, path, "cannot open", strerror(errno));
    return;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    fail(out, path, "cannot start a SHA-256 digest", NULL);
    EVP_MD_CTX_free(ctx);
    fclose(file);
    return;
  }
  static unsigned char buffer[64 * 1024]; /* tasks run one at a time (task.h) */
  size_t n;
  int ok = 1;
  while ((n = fread(buffer, 1, sizeof buffer, file)) > 0) {
    if (EVP_DigestUpdate(ctx, buffer, n) != 1) {
      ok = 0;
      break;
    }
  }
  if (ferror(file)) {
    fail(out, path, "cannot read", strerror(errno));
  } else {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (!ok || EVP_DigestFinal_ex(ctx, digest, &size) != 1) {
      fail(out, path, "SHA-256 digest failed", NULL);
    } else {
      static const char hex[] = "0123456789abcdef";
      char text[2 * EVP_MAX_MD_SIZE];
      for (unsigned int i = 0; i < size; ++i) {
        text[2 * i] = hex[digest[i] >> 4];
        text[2 * i + 1] = hex[digest[i] & 0xf];
      }
      jobd_output_append(out, text, 2 * (size_t)size);
    }
  }
  EVP_MD_CTX_free(ctx);
  fclose(file);
}

static const jobd_task kTasks[] = {
    {"sha256", "PATH: the hex SHA-256 of the file's contents", sha256},
};

JOBD_PLUGIN_EXPORT const jobd_task* jobd_plugin_tasks(int* abi_version, size_t* count) {
  *abi_version = JOBD_TASK_ABI_VERSION;
  *count = sizeof kTasks / sizeof kTasks[0];
  return kTasks;
}
