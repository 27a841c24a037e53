/* hz_map.c - open-addressing int->long map with one mutex (see hz_map.h). */
#include "hz_map.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct hz_map_slot {
  int key;
  bool used;
  long value;
} hz_map_slot_t;

struct hz_map {
  pthread_mutex_t mutex;
  hz_map_slot_t *slots;
  size_t cap;   /* power of two */
  size_t count;
};

static size_t hz_map_hash(int key, size_t cap)
{
  /* Fibonacci hashing spreads consecutive ids, the usual key pattern here. */
  uint64_t h = (uint64_t)(uint32_t)key * 0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 32) & (cap - 1);
}

/* Index of key's slot, or of the empty slot where it would go. Caller holds the mutex. */
static size_t hz_map_find(const hz_map_slot_t *slots, size_t cap, int key)
{
  size_t i = hz_map_hash(key, cap);

  while (slots[i].used && slots[i].key != key)
    i = (i + 1) & (cap - 1);
  return i;
}

static int hz_map_grow(hz_map_t *m)
{
  size_t cap = m->cap * 2, i;
  hz_map_slot_t *slots = calloc(cap, sizeof *slots);

  if (!slots)
    return -ENOMEM;
  for (i = 0; i < m->cap; i++)
    if (m->slots[i].used)
      slots[hz_map_find(slots, cap, m->slots[i].key)] = m->slots[i];
  free(m->slots);
  m->slots = slots;
  m->cap = cap;
  return 0;
}

int hz_map_create(hz_map_t **out, size_t capacity_hint)
{
  hz_map_t *m = calloc(1, sizeof *m);
  size_t cap = 16;

  if (!m)
    return -ENOMEM;
  while (cap < capacity_hint * 2 && cap < ((size_t)1 << 40))
    cap *= 2;
  m->slots = calloc(cap, sizeof *m->slots);
  if (!m->slots) {
    free(m);
    return -ENOMEM;
  }
  m->cap = cap;
  pthread_mutex_init(&m->mutex, NULL);
  *out = m;
  return 0;
}

void hz_map_destroy(hz_map_t *m)
{
  if (!m)
    return;
  pthread_mutex_destroy(&m->mutex);
  free(m->slots);
  free(m);
}

bool hz_map_contains(hz_map_t *m, int key)
{
  bool found;

  pthread_mutex_lock(&m->mutex);
  found = m->slots[hz_map_find(m->slots, m->cap, key)].used;
  pthread_mutex_unlock(&m->mutex);
  return found;
}

int hz_map_get(hz_map_t *m, int key, long *value)
{
  hz_map_slot_t *s;
  int rc = -ENOENT;

  pthread_mutex_lock(&m->mutex);
  s = &m->slots[hz_map_find(m->slots, m->cap, key)];
  if (s->used) {
    *value = s->value;
    rc = 0;
  }
  pthread_mutex_unlock(&m->mutex);
  return rc;
}

/* Shared body of put and put_if_absent. Caller holds the mutex. */
static int hz_map_insert_locked(hz_map_t *m, int key, long value, bool overwrite)
{
  size_t i = hz_map_find(m->slots, m->cap, key);

  if (m->slots[i].used) {
    if (!overwrite)
      return -EEXIST;
    m->slots[i].value = value;
    return 0;
  }
  if ((m->count + 1) * 2 > m->cap) {
    if (hz_map_grow(m) < 0)
      return -ENOMEM;
    i = hz_map_find(m->slots, m->cap, key);
  }
  m->slots[i].key = key;
  m->slots[i].used = true;
  m->slots[i].value = value;
  m->count++;
  return 0;
}

int hz_map_put(hz_map_t *m, int key, long value)
{
  int rc;

  pthread_mutex_lock(&m->mutex);
  rc = hz_map_insert_locked(m, key, value, true);
  pthread_mutex_unlock(&m->mutex);
  return rc;
}

int hz_map_put_if_absent(hz_map_t *m, int key, long value)
{
  int rc;

  pthread_mutex_lock(&m->mutex);
  rc = hz_map_insert_locked(m, key, value, false);
  pthread_mutex_unlock(&m->mutex);
  return rc;
}

size_t hz_map_size(hz_map_t *m)
{
  size_t n;

  pthread_mutex_lock(&m->mutex);
  n = m->count;
  pthread_mutex_unlock(&m->mutex);
  return n;
}
