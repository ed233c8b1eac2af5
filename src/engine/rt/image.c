/* Copy-on-write initial memory images (see wasm-rt.h): building the memfd.
 *
 * An image is built once per loaded module, on its first instantiation, under
 * one process-wide lock (later callers see state READY with an acquire load
 * and take no lock). It holds the initial memory up to `bytes`: the whole
 * initial memory when that is at most IMAGE_WHOLE_MAX (one mapping covers the
 * memory), else only up to the end of the last segment, rounded up to a wasm
 * page (the rest stays plain anonymous memory, so a huge zero memory is not
 * backed by the memfd). Mapping and pooling are in memory.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arcella_rt.h"

#define WASM_PAGE 65536ull
#define IMAGE_WHOLE_MAX (16ull << 20)

enum { IMAGE_UNBUILT = 0, IMAGE_READY = 1, IMAGE_UNUSABLE = 2 };

static pthread_mutex_t image_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_image_id = 1; /* guarded by image_lock */

static int write_all(int fd, const uint8_t* p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, at);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 0;
    p += w;
    n -= (size_t)w;
    at += w;
  }
  return 1;
}

/* Builds the image into *img; returns IMAGE_READY or IMAGE_UNUSABLE. */
static uint32_t build(arcella_mem_image_t* img, uint64_t mem_bytes, const arcella_data_seg_t* segs,
                      uint32_t nsegs) {
  uint64_t end = 0;
  for (uint32_t i = 0; i < nsegs; ++i) {
    uint64_t e = (uint64_t)segs[i].offset + segs[i].size;
    if (e > mem_bytes) return IMAGE_UNUSABLE; /* must trap: the generated code does it */
    if (segs[i].size && e > end) end = e;
  }
  if (end == 0) return IMAGE_UNUSABLE; /* nothing but zeros: plain memory is as good */
  uint64_t bytes = mem_bytes <= IMAGE_WHOLE_MAX ? mem_bytes
                                                : (end + WASM_PAGE - 1) / WASM_PAGE * WASM_PAGE;
  int fd = memfd_create("arcella-image", MFD_CLOEXEC);
  if (fd < 0) return IMAGE_UNUSABLE;
  int ok = ftruncate(fd, (off_t)bytes) == 0;
  for (uint32_t i = 0; ok && i < nsegs; ++i)
    if (segs[i].size) ok = write_all(fd, segs[i].data, segs[i].size, (off_t)segs[i].offset);
  if (!ok) {
    close(fd);
    return IMAGE_UNUSABLE;
  }
  img->fd = fd;
  img->bytes = bytes;
  img->id = next_image_id++;
  return IMAGE_READY;
}

int arcella_rt_image_ready(arcella_mem_image_t* img, uint64_t mem_bytes,
                           const arcella_data_seg_t* segs, uint32_t nsegs) {
  uint32_t st = __atomic_load_n(&img->state, __ATOMIC_ACQUIRE);
  if (st == IMAGE_UNBUILT) {
    pthread_mutex_lock(&image_lock);
    st = __atomic_load_n(&img->state, __ATOMIC_RELAXED);
    if (st == IMAGE_UNBUILT) {
      st = build(img, mem_bytes, segs, nsegs);
      __atomic_store_n(&img->state, st, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&image_lock);
  }
  /* An image is built for one initial size: a different one never uses it. */
  return st == IMAGE_READY && img->bytes <= mem_bytes;
}

void arcella_rt_release_image(arcella_mem_image_t* img) {
  pthread_mutex_lock(&image_lock);
  if (__atomic_load_n(&img->state, __ATOMIC_RELAXED) == IMAGE_READY) {
    arcella_rt_pool_forget_image(img->id);
    close(img->fd);
    img->fd = -1;
  }
  __atomic_store_n(&img->state, IMAGE_UNUSABLE, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&image_lock);
}
